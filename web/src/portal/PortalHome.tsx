// The signed-in portal: the client's conversations and the open one, answered from here;
// staff messages arrive live over /v1/events (the client's own events only).
import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { api, must, type Conversation, type Me, type Message } from "../api/client";
import { watchEvents } from "../api/events";
import { formatTime } from "../shared/format";
import { AttachmentView } from "../shared/AttachmentView";
import { PushOptIn } from "./PushOptIn";

// The invitation's link on this origin (the portal serves the join screen).
function joinPath(v: { joinUrl?: string }): string | undefined {
  if (!v.joinUrl) return undefined;
  const u = new URL(v.joinUrl, window.location.origin);
  return u.pathname.startsWith("/portal/video/") ? u.pathname + u.search : undefined;
}

function byTime(a: Message, b: Message): number {
  return (a.createTime ?? "").localeCompare(b.createTime ?? "") || (a.id ?? "").localeCompare(b.id ?? "");
}

// `openConversationId`: the conversation a message's link points at (opened first).
export function PortalHome({ me, onSignedOut, openConversationId }: { me: Me; onSignedOut: () => void; openConversationId?: string }) {
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [openId, setOpenId] = useState<string | undefined>(openConversationId);
  const [messages, setMessages] = useState<Message[]>([]);
  const [text, setText] = useState("");
  const [error, setError] = useState<string>();
  const openRef = useRef(openId);
  openRef.current = openId;

  useEffect(() => {
    void must(api.GET("/v1/conversations", { params: { query: { pageSize: 50 } } })).then((r) => {
      const list = r.conversations ?? [];
      setConversations(list);
      if (list[0]?.id) setOpenId((o) => o ?? list[0].id);
    }, () => setError("Your messages could not be loaded."));
  }, []);

  const loadMessages = useCallback(async (id: string) => {
    const page = await must(api.GET("/v1/conversations/{conversation_id}/messages", { params: { path: { conversation_id: id }, query: { pageSize: 50 } } }));
    setMessages((page.messages ?? []).slice().sort(byTime));
    void api.POST("/v1/conversations/{id}/read", { params: { path: { id } }, body: {} });
  }, []);

  useEffect(() => {
    if (openId) void loadMessages(openId).catch(() => setError("The conversation could not be loaded."));
  }, [openId, loadMessages]);

  useEffect(() => watchEvents((e) => {
    if (e.conversation?.id) {
      const c = e.conversation;
      setConversations((list) => [c, ...list.filter((x) => x.id !== c.id)]);
      setOpenId((o) => o ?? c.id);
    }
    const m = e.message;
    if (m && m.conversationId === openRef.current && e.type === "message.created") {
      setMessages((list) => [...list.filter((x) => x.id !== m.id), m].sort(byTime));
    }
  }, () => {}), []);

  // A push notification's click in an open portal tab names its conversation (PortalApp).
  useEffect(() => {
    if (openConversationId) setOpenId(openConversationId);
  }, [openConversationId]);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (!openId || !text.trim()) return;
    setError(undefined);
    try {
      const m = await must(api.POST("/v1/conversations/{conversation_id}/messages", { params: { path: { conversation_id: openId } }, body: { text } }));
      setMessages((list) => [...list.filter((x) => x.id !== m.id), m].sort(byTime));
      setText("");
    } catch (err) {
      setError(err instanceof Error ? err.message : "Your message was not sent.");
    }
  };

  const signOut = async () => {
    await api.POST("/v1/auth/logout", { body: {} });
    onSignedOut();
  };

  return (
    <>
      <header className="topbar">
        <div className="brand"><img src="/favicon.svg" alt="" /><span>{me.clinic?.name}</span></div>
        <div className="who">
          <span className="name muted small">{me.portalAccount?.name || (me.portalAccount?.id ? "" : "Signed in by your clinic's link")}</span>
          <button type="button" onClick={() => void signOut()}>Sign out</button>
        </div>
      </header>
      <main>
        <div className="inbox has-open">
        <section className="queue" aria-label="Your conversations">
          <ul>
            {conversations.map((c) => (
              <li key={c.id}>
                <a href={`#${c.id}`} aria-current={c.id === openId ? "true" : undefined}
                  onClick={(e) => { e.preventDefault(); setOpenId(c.id); }}>
                  <span className="who-name">{me.clinic?.name}</span>
                  <span className="muted small">{formatTime(c.lastActivityTime)}</span>
                  <span className="preview">{c.lastMessagePreview || "No messages yet"}</span>
                </a>
              </li>
            ))}
            {conversations.length === 0 && <li className="empty">No messages yet. Your clinic's messages appear here.</li>}
          </ul>
        </section>
        <section className="thread" aria-label="Messages">
          {me.portalAccount?.clientId && <PushOptIn clientId={me.portalAccount.clientId} />}
          {error && <p className="alert error" role="alert">{error}</p>}
          <div className="messages" role="log" aria-label="Messages" aria-live="polite" tabIndex={0}>
            {messages.map((m) => (
              <article key={m.id} className={`msg ${m.author === "CLIENT" ? "staff" : m.author === "SYSTEM" ? "system" : "client"}`}>
                <div className="by">{m.author === "CLIENT" ? "You" : me.clinic?.name} · <time dateTime={m.createTime}>{formatTime(m.createTime)}</time></div>
                {m.text && <div className="text">{m.text}</div>}
                {(m.attachments ?? []).map((a) => <AttachmentView key={a.id} a={a} joinHref={joinPath} />)}
              </article>
            ))}
          </div>
          {openId && (
            <form className="composer" onSubmit={send}>
              <label htmlFor="portal-text" className="visually-hidden">Your answer</label>
              <textarea id="portal-text" rows={3} value={text} onChange={(e) => setText(e.target.value)} placeholder="Write to your clinic…" />
              <div className="composer-row"><span className="spacer" /><button className="primary" type="submit" disabled={!text.trim()}>Send</button></div>
            </form>
          )}
        </section>
        </div>
      </main>
    </>
  );
}
