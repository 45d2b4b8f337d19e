// One conversation: its header (client, status, assignee, archive), the messages oldest
// to newest with attachments and delivery states, and the composer (message or internal
// note, templates, files).
import { useCallback, useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import {
  api,
  ApiError,
  MAX_FILE_BYTES,
  must,
  uploadFile,
  type Client,
  type Conversation,
  type ConversationStatus,
  type Delivery,
  type FileAttachment,
  type Me,
  type Message,
  type MessageTemplate,
} from "../api/client";
import { formatBytes } from "../shared/format";
import { Link } from "../shared/router";
import { clientName, loadClient, type Directory } from "./directory";
import type { EventListener } from "./Inbox";
import { MessageView } from "./MessageView";

interface Props {
  id: string;
  me: Me;
  statuses: ConversationStatus[];
  templates: MessageTemplate[];
  directory: Directory;
  subscribe: (l: EventListener) => () => void;
  onConversation: (c: Conversation) => void;
}

function byTime(a: Message, b: Message): number {
  return (a.createTime ?? "").localeCompare(b.createTime ?? "") || (a.id ?? "").localeCompare(b.id ?? "");
}

// Deliveries of one message from several sources (the send's answer, message.created,
// delivery.updated with one delivery each) arrive in any order: per channel and
// destination the latest update wins.
function mergeDeliveries(had: Delivery[] = [], changed: Delivery[] = []): Delivery[] {
  const key = (d: Delivery) => `${d.channel}|${d.destination}`;
  const out = new Map(had.map((d) => [key(d), d]));
  for (const d of changed) {
    const old = out.get(key(d));
    if (!old || (d.updateTime ?? "") >= (old.updateTime ?? "")) out.set(key(d), d);
  }
  return [...out.values()];
}

function upsert(list: Message[], m: Message): Message[] {
  const old = list.find((x) => x.id === m.id);
  // A later copy without a file's signed link (one that came another way) keeps the link shown.
  const attachments = m.attachments?.map((a) => {
    const before = old?.attachments?.find((b) => b.id === a.id);
    return a.file && !a.file.downloadUrl && before?.file?.downloadUrl ? { ...a, file: before.file } : a;
  });
  const merged = old ? { ...m, attachments, deliveries: mergeDeliveries(old.deliveries, m.deliveries) } : m;
  return [...list.filter((x) => x.id !== m.id), merged].sort(byTime);
}

export function Thread({ id, me, statuses, templates, directory, subscribe, onConversation }: Props) {
  const [conversation, setConversation] = useState<Conversation>();
  const [client, setClient] = useState<Client | null>();
  const [messages, setMessages] = useState<Message[]>([]);
  const [older, setOlder] = useState<string>();
  const [error, setError] = useState<string>();
  const end = useRef<HTMLDivElement>(null);
  const early = useRef(new Map<string, Delivery[]>());
  const add = useCallback(
    (m: Message) =>
      setMessages((list) => upsert(list, { ...m, deliveries: mergeDeliveries(m.deliveries, early.current.get(m.id ?? "")) })),
    [],
  );

  const update = useCallback(
    (c: Conversation) => {
      setConversation(c);
      onConversation(c);
    },
    [onConversation],
  );

  const markRead = useCallback(() => {
    void must(api.POST("/v1/conversations/{id}/read", { params: { path: { id } }, body: {} })).then(update, () => {});
  }, [id, update]);

  useEffect(() => {
    let live = true;
    setError(undefined);
    Promise.all([
      must(api.GET("/v1/conversations/{id}", { params: { path: { id } } })),
      must(api.GET("/v1/conversations/{conversation_id}/messages", { params: { path: { conversation_id: id }, query: { pageSize: 50 } } })),
    ]).then(
      ([c, page]) => {
        if (!live) return;
        setConversation(c);
        setMessages((page.messages ?? []).slice().sort(byTime));
        setOlder(page.nextPageToken || undefined);
        if (c.clientId) void loadClient(c.clientId).then((cl) => live && setClient(cl));
        else setClient(null);
        if ((c.staffUnread ?? 0) > 0) markRead();
      },
      (e: unknown) => live && setError(e instanceof ApiError && e.status === 404 ? "This conversation does not exist." : "The conversation could not be loaded."),
    );
    return () => {
      live = false;
    };
  }, [id, markRead]);

  // Live: new messages and delivery changes of this conversation, and its own updates.
  useEffect(
    () =>
      subscribe((e) => {
        if (e.conversation?.id === id) setConversation(e.conversation);
        const m = e.message;
        if (!m || m.conversationId !== id) return;
        if (e.type === "message.created") {
          add(m);
          if (m.author === "CLIENT" && document.visibilityState === "visible") markRead();
        } else if (e.type === "delivery.updated") {
          // Carries only the delivery that changed. It can overtake the send's answer: kept
          // aside until the message is in the list.
          early.current.set(m.id ?? "", mergeDeliveries(early.current.get(m.id ?? ""), m.deliveries));
          setMessages((list) => list.map((x) => (x.id === m.id ? { ...x, deliveries: mergeDeliveries(x.deliveries, m.deliveries) } : x)));
        }
      }),
    [id, subscribe, markRead, add],
  );

  useEffect(() => {
    end.current?.scrollIntoView({ block: "end" });
  }, [messages.length]);

  const loadOlder = async () => {
    if (!older) return;
    const page = await must(
      api.GET("/v1/conversations/{conversation_id}/messages", { params: { path: { conversation_id: id }, query: { pageSize: 50, pageToken: older } } }),
    );
    setMessages((list) => [...(page.messages ?? []), ...list].sort(byTime));
    setOlder(page.nextPageToken || undefined);
  };

  const act = async (p: Promise<Conversation>) => {
    setError(undefined);
    try {
      update(await p);
    } catch (e) {
      setError(e instanceof Error ? e.message : "That did not work.");
    }
  };

  if (error && !conversation) return <p className="alert error" role="alert">{error}</p>;
  if (!conversation) return <p className="placeholder">Loading…</p>;

  const assignee = conversation.assigneeUserId ? `user:${conversation.assigneeUserId}` : conversation.assigneeTeamId ? `team:${conversation.assigneeTeamId}` : "";
  const title = conversation.clientId ? clientName(client) : (conversation.senderAddress ?? "Unknown sender");
  const pet = client?.pets?.find((p) => p.id === conversation.petId)?.name;
  const choosable = statuses.filter((s) => !s.retired || s.id === conversation.statusId);

  return (
    <>
      <div className="thread-head">
        <Link href="/" className="back button">Back</Link>
        <h2>
          {conversation.clientId ? <Link href={`/clients/${conversation.clientId}`}>{title}</Link> : title}
          {pet && <span className="muted small"> · {pet}</span>}
          {conversation.unknownSender && <span className="muted small"> · not linked to a client</span>}
        </h2>
        <span className="inline-field">
          <label htmlFor="t-status" className="lbl">Status</label>
          <select id="t-status" value={conversation.statusId} onChange={(e) =>
            void act(must(api.POST("/v1/conversations/{id}/status", { params: { path: { id } }, body: { statusId: e.target.value } })))}>
            {choosable.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
          </select>
        </span>
        <span className="inline-field">
          <label htmlFor="t-assignee" className="lbl">Assigned to</label>
          <select id="t-assignee" value={assignee} onChange={(e) => {
            const v = e.target.value;
            const body = v.startsWith("user:") ? { userId: v.slice(5) } : v.startsWith("team:") ? { teamId: v.slice(5) } : {};
            void act(must(api.POST("/v1/conversations/{id}/assignee", { params: { path: { id } }, body })));
          }}>
            <option value="">Nobody</option>
            {me.staff?.id && <option value={`user:${me.staff.id}`}>Me ({me.staff.name})</option>}
            {directory.staff.filter((s) => s.id !== me.staff?.id).map((s) => <option key={s.id} value={`user:${s.id}`}>{s.name}</option>)}
            {directory.teams.map((t) => <option key={t.id} value={`team:${t.id}`}>Team: {t.name}</option>)}
          </select>
        </span>
        {conversation.archived ? (
          <button type="button" onClick={() => void act(must(api.POST("/v1/conversations/{id}/unarchive", { params: { path: { id } }, body: {} })))}>
            Move to queue
          </button>
        ) : (
          <button type="button" onClick={() => void act(must(api.POST("/v1/conversations/{id}/archive", { params: { path: { id } }, body: {} })))}>
            Archive
          </button>
        )}
      </div>
      {error && <p className="alert error" role="alert">{error}</p>}
      <div className="messages" role="log" aria-label="Messages" aria-live="polite" tabIndex={0}>
        {older && <button type="button" className="link" onClick={() => void loadOlder()}>Earlier messages</button>}
        {messages.length === 0 && <p className="placeholder">No messages yet. Write the first one below.</p>}
        {messages.map((m) => (
          <MessageView key={m.id} m={m} me={me} directory={directory} client={client} />
        ))}
        <div ref={end} />
      </div>
      <Composer id={id} templates={templates} onSent={add} canCall={!!conversation.clientId} />
    </>
  );
}

function Composer({ id, templates, onSent, canCall }: {
  id: string; templates: MessageTemplate[]; onSent: (m: Message) => void; canCall: boolean;
}) {
  const [text, setText] = useState("");
  const [note, setNote] = useState(false);
  const [files, setFiles] = useState<FileAttachment[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const fileInput = useRef<HTMLInputElement>(null);

  const send = async (e?: FormEvent) => {
    e?.preventDefault();
    if (!text.trim() && files.length === 0) return;
    setBusy(true);
    setError(undefined);
    try {
      const m = await must(
        api.POST("/v1/conversations/{conversation_id}/messages", {
          params: { path: { conversation_id: id } },
          body: { text, internalNote: note, fileIds: files.map((f) => f.fileId ?? "") },
        }),
      );
      onSent(m);
      setText("");
      setFiles([]);
    } catch (err) {
      setError(err instanceof Error ? err.message : "The message was not sent.");
    } finally {
      setBusy(false);
    }
  };

  const attach = async (list: FileList | null) => {
    setError(undefined);
    for (const f of Array.from(list ?? [])) {
      if (f.size > MAX_FILE_BYTES) {
        setError(`${f.name} is ${formatBytes(f.size)}; files can be at most ${formatBytes(MAX_FILE_BYTES)}.`);
        continue;
      }
      try {
        const up = await uploadFile(id, f);
        setFiles((fs) => [...fs, up]);
      } catch (err) {
        setError(err instanceof Error ? `${f.name}: ${err.message}` : `${f.name} could not be uploaded.`);
      }
    }
    if (fileInput.current) fileInput.current.value = "";
  };

  const insertTemplate = async (templateId: string) => {
    if (!templateId) return;
    try {
      const r = await must(
        api.POST("/v1/conversations/{conversation_id}/render-template", { params: { path: { conversation_id: id } }, body: { templateId } }),
      );
      setText((t) => (t ? `${t}\n${r.text ?? ""}` : (r.text ?? "")));
    } catch (err) {
      setError(err instanceof Error ? err.message : "The template could not be filled in.");
    }
  };

  // The invitation is a message of its own, with the composer's words before the link.
  const videoCall = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const r = await must(
        api.POST("/v1/conversations/{conversation_id}/video-call", { params: { path: { conversation_id: id } }, body: { text: text.trim() || undefined } }),
      );
      if (r.message) onSent(r.message);
      setText("");
    } catch (err) {
      setError(err instanceof Error ? err.message : "The video call could not be started.");
    } finally {
      setBusy(false);
    }
  };

  const keys = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void send();
  };

  return (
    <form className={note ? "composer note-mode" : "composer"} onSubmit={send}>
      {error && <p className="alert error" role="alert">{error}</p>}
      <label htmlFor="composer-text" className="visually-hidden">{note ? "Note text" : "Message"}</label>
      <textarea id="composer-text" rows={3} value={text} onChange={(e) => setText(e.target.value)} onKeyDown={keys}
        placeholder={note ? "Internal note: only staff see this" : "Write to the client…"} />
      {files.length > 0 && (
        <div className="chips" role="group" aria-label="Attached files">
          {files.map((f) => (
            <span key={f.fileId} className="chip">
              {f.filename} ({formatBytes(Number(f.sizeBytes ?? 0))}){" "}
              <button type="button" className="link" aria-label={`Remove ${f.filename}`}
                onClick={() => setFiles((fs) => fs.filter((x) => x.fileId !== f.fileId))}>×</button>
            </span>
          ))}
        </div>
      )}
      <div className="composer-row">
        <label className="check">
          <input type="checkbox" checked={note} onChange={(e) => setNote(e.target.checked)} /> Internal note
        </label>
        {templates.length > 0 && (
          <>
            <label htmlFor="composer-template" className="visually-hidden">Insert a template</label>
            <select id="composer-template" value="" onChange={(e) => void insertTemplate(e.target.value)}>
              <option value="">Insert template…</option>
              {templates.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
            </select>
          </>
        )}
        <label htmlFor="composer-file" className="button">Attach file</label>
        <input id="composer-file" ref={fileInput} type="file" multiple className="visually-hidden"
          onChange={(e) => void attach(e.target.files)} />
        {canCall && !note && (
          <button type="button" onClick={() => void videoCall()} disabled={busy}>Request video call</button>
        )}
        <span className="spacer" />
        <button className="primary" type="submit" disabled={busy || (!text.trim() && files.length === 0)}>
          {note ? "Save note" : "Send"}
        </button>
      </div>
    </form>
  );
}

