// The inbox: the clinic queue (filters, unread, statuses, assignees) beside the open
// conversation. Both follow /v1/events, so a client's message moves its conversation to
// the top and shows in the open thread without a reload.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  api,
  must,
  type AssigneeFilter,
  type Conversation,
  type ConversationEvent,
  type ConversationStatus,
  type Me,
  type MessageTemplate,
} from "../api/client";
import { watchEvents, type LiveState } from "../api/events";
import { formatTime } from "../shared/format";
import { Link } from "../shared/router";
import { clientName, loadDirectory, useClients, type Directory } from "./directory";
import { FIRST_PAGE, takeEarlyQueue } from "./early";
import { StatusDot } from "./StatusDot";
import { Thread } from "./Thread";

export interface Filters {
  statusId: string;
  assignee: string; // "" anyone | "me" | "nobody" | "user:<id>" | "team:<id>"
  unread: boolean;
  archived: boolean;
}

export type EventListener = (e: ConversationEvent) => void;

function byActivity(a: Conversation, b: Conversation): number {
  return (b.lastActivityTime ?? "").localeCompare(a.lastActivityTime ?? "") || (b.id ?? "").localeCompare(a.id ?? "");
}

// Whether a conversation changed by an event still belongs in the filtered queue.
export function inQueue(c: Conversation, f: Filters, me: Me): boolean {
  if (!!c.archived !== f.archived) return false;
  if (f.statusId && c.statusId !== f.statusId) return false;
  if (f.unread && !(c.staffUnread && c.staffUnread > 0)) return false;
  const user = c.assigneeUserId ?? "";
  const team = c.assigneeTeamId ?? "";
  if (f.assignee === "me") return user === me.staff?.id;
  if (f.assignee === "nobody") return !user && !team;
  if (f.assignee.startsWith("user:")) return user === f.assignee.slice(5);
  if (f.assignee.startsWith("team:")) return team === f.assignee.slice(5);
  return true;
}

function queryOf(f: Filters): {
  statusId?: string;
  assigneeFilter?: AssigneeFilter;
  assigneeId?: string;
  unreadOnly?: boolean;
  archived?: boolean;
  pageSize: number;
} {
  const q: ReturnType<typeof queryOf> = { pageSize: FIRST_PAGE };
  if (f.statusId) q.statusId = f.statusId;
  if (f.unread) q.unreadOnly = true;
  if (f.archived) q.archived = true;
  if (f.assignee === "me") q.assigneeFilter = "ASSIGNED_TO_ME";
  else if (f.assignee === "nobody") q.assigneeFilter = "UNASSIGNED";
  else if (f.assignee.startsWith("user:")) {
    q.assigneeFilter = "ASSIGNED_TO_USER";
    q.assigneeId = f.assignee.slice(5);
  } else if (f.assignee.startsWith("team:")) {
    q.assigneeFilter = "ASSIGNED_TO_TEAM";
    q.assigneeId = f.assignee.slice(5);
  }
  return q;
}

export function Inbox({ me, openId }: { me: Me; openId?: string }) {
  const [filters, setFilters] = useState<Filters>({ statusId: "", assignee: "", unread: false, archived: false });
  const [queue, setQueue] = useState<Conversation[]>([]);
  const [next, setNext] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  const [statuses, setStatuses] = useState<ConversationStatus[]>([]);
  const [templates, setTemplates] = useState<MessageTemplate[]>([]);
  const [directory, setDirectory] = useState<Directory>({ staff: [], teams: [] });
  const [live, setLive] = useState<LiveState>("connecting");
  const listeners = useRef(new Set<EventListener>());
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  useEffect(() => {
    void must(api.GET("/v1/conversation-statuses")).then((r) => setStatuses(r.statuses ?? []), () => {});
    void must(api.GET("/v1/message-templates")).then((r) => setTemplates(r.templates ?? []), () => {});
    void loadDirectory().then(setDirectory);
  }, []);

  const load = useCallback(async (f: Filters, pageToken?: string) => {
    setLoading(true);
    setError(undefined);
    try {
      const unfiltered = !pageToken && !f.statusId && !f.assignee && !f.unread && !f.archived;
      const early = unfiltered ? takeEarlyQueue() : undefined;
      const r = await must(early ?? api.GET("/v1/conversations", { params: { query: { ...queryOf(f), pageToken } } }));
      setQueue((q) => (pageToken ? [...q, ...(r.conversations ?? [])] : (r.conversations ?? [])));
      setNext(r.nextPageToken || undefined);
    } catch (e) {
      setError(e instanceof Error ? e.message : "The queue could not be loaded.");
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void load(filters);
  }, [filters, load]);

  // One stream for the whole inbox; the thread subscribes through `listeners`.
  useEffect(
    () =>
      watchEvents((e) => {
        const c = e.conversation;
        if (c?.id) {
          setQueue((q) => {
            const rest = q.filter((x) => x.id !== c.id);
            return inQueue(c, filtersRef.current, me) ? [c, ...rest].sort(byActivity) : rest;
          });
        }
        for (const l of listeners.current) l(e);
      }, setLive),
    [me],
  );

  const subscribe = useCallback((l: EventListener) => {
    listeners.current.add(l);
    return () => void listeners.current.delete(l);
  }, []);

  const onConversation = useCallback(
    (c: Conversation) =>
      setQueue((q) => {
        const rest = q.filter((x) => x.id !== c.id);
        return inQueue(c, filtersRef.current, me) ? [c, ...rest].sort(byActivity) : rest;
      }),
    [me],
  );

  const names = useClients(queue.map((c) => c.clientId ?? "").filter(Boolean));
  const statusById = useMemo(() => new Map(statuses.map((s) => [s.id, s])), [statuses]);
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));

  return (
    <div className={openId ? "inbox has-open" : "inbox"}>
      <section className="queue" aria-label="Conversations">
        <div className="filters">
          <div>
            <label className="visually-hidden" htmlFor="f-status">Status (queue)</label>
            <select id="f-status" value={filters.statusId} onChange={(e) => set({ statusId: e.target.value })}>
              <option value="">All statuses</option>
              {statuses.filter((s) => !s.retired).map((s) => (
                <option key={s.id} value={s.id}>{s.name}</option>
              ))}
            </select>
          </div>
          <div>
            <label className="visually-hidden" htmlFor="f-assignee">Assigned to (queue)</label>
            <select id="f-assignee" value={filters.assignee} onChange={(e) => set({ assignee: e.target.value })}>
              <option value="">Anyone</option>
              <option value="me">Me</option>
              <option value="nobody">Nobody</option>
              {directory.teams.map((t) => (
                <option key={t.id} value={`team:${t.id}`}>Team: {t.name}</option>
              ))}
              {directory.staff.filter((s) => s.id !== me.staff?.id).map((s) => (
                <option key={s.id} value={`user:${s.id}`}>{s.name}</option>
              ))}
            </select>
          </div>
          <label className="check">
            <input type="checkbox" checked={filters.unread} onChange={(e) => set({ unread: e.target.checked })} />
            Unread only
          </label>
          <label className="check">
            <input type="checkbox" checked={filters.archived} onChange={(e) => set({ archived: e.target.checked })} />
            Archived
          </label>
          <span className={live === "live" ? "live on" : "live"} role="status">
            {live === "live" ? "Live" : live === "connecting" ? "Connecting…" : "Offline, retrying"}
          </span>
        </div>
        {error && <p className="alert error" role="alert">{error}</p>}
        <ul aria-label="Queue">
          {queue.map((c) => {
            const status = statusById.get(c.statusId);
            const unread = (c.staffUnread ?? 0) > 0;
            return (
              <li key={c.id} className={unread ? "unread" : undefined}>
                <Link href={`/inbox/${c.id}`} aria-current={c.id === openId ? "true" : undefined}>
                  <span className="who-name">
                    {c.clientId ? clientName(names.get(c.clientId)) : (c.senderAddress ?? "Unknown sender")}
                    {unread && <span className="visually-hidden"> (unread)</span>}
                  </span>
                  <span className="muted small">{formatTime(c.lastActivityTime)}</span>
                  <span className="preview">{c.lastMessagePreview || "No messages yet"}</span>
                  <span className="meta">
                    {status && <StatusDot status={status} />}
                    {unread && <span className="badge" aria-label={`${c.staffUnread} unread`}>{c.staffUnread}</span>}
                  </span>
                </Link>
              </li>
            );
          })}
          {!loading && queue.length === 0 && <li className="empty">Nothing here. New conversations appear at the top.</li>}
        </ul>
        {next && (
          <button type="button" onClick={() => void load(filters, next)} disabled={loading}>
            Show more
          </button>
        )}
      </section>
      <section className="thread" aria-label="Conversation">
        {openId ? (
          <Thread key={openId} id={openId} me={me} statuses={statuses} templates={templates}
            directory={directory} subscribe={subscribe} onConversation={onConversation} />
        ) : (
          <p className="placeholder">Choose a conversation.</p>
        )}
      </section>
    </div>
  );
}
