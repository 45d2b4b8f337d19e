// Call History (seed 000: "Reporting > Call History"): every video call of the clinic,
// newest first, with its host, client, participants, length and recordings. A recording
// shows its processing state until it is composed, then a download link (recordings of
// 60 minutes or more are kept but not served). On the client profile the same table lists
// that client's calls.
import { useCallback, useEffect, useState } from "react";
import { api, must } from "../../api/client";
import { errorText, type CallHistoryRow, type Recording } from "../../shared/call/media";
import { formatDateTime } from "../../shared/format";
import { Link } from "../../shared/router";
import "../../shared/call/call.css";

const PAGE = 50;

export function formatDuration(seconds: number | undefined): string {
  const s = Math.max(0, Math.round(Number(seconds ?? 0)));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

// Still changing: a recording not yet composed.
function settling(rows: CallHistoryRow[]): boolean {
  return rows.some((r) => (r.recordings ?? []).some((x) => x.state === "recording" || x.state === "pending" || x.state === "composing"));
}

function RecordingCell({ r, when }: { r: Recording; when?: string }) {
  const length = r.durationSeconds ? ` (${formatDuration(r.durationSeconds)})` : "";
  if (r.downloadable && r.downloadUrl) {
    const day = (when ?? "").slice(0, 10) || "call";
    return (
      <span>
        Ready{length} · <a href={r.downloadUrl} download={`video-call-${day}-${(r.id ?? "").slice(0, 8)}.webm`}>Download<span className="visually-hidden"> recording{length}</span></a>
      </span>
    );
  }
  switch (r.state) {
    case "recording": return <span>Recording…</span>;
    case "pending": return <span>Waiting to be processed{r.interrupted ? " (cut short)" : ""}</span>;
    case "composing": return <span>Processing {Math.round(Number(r.progress ?? 0) * 100)}%</span>;
    case "failed": return <span className="muted">Could not be processed{r.error ? `: ${r.error}` : ""}</span>;
    case "ready": return <span>Ready{length} · 60 minutes or longer: kept by Vetline, not downloadable</span>;
    default: return <span>{r.state}</span>;
  }
}

export function CallHistoryTable({ clientId }: { clientId?: string }) {
  const [rows, setRows] = useState<CallHistoryRow[]>([]);
  const [next, setNext] = useState<string>();
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string>();

  const load = useCallback(async (pages: number) => {
    // The report pages through the whole clinic; a client's rows are filtered from it.
    const all: CallHistoryRow[] = [];
    let token: string | undefined;
    for (let i = 0; i < pages; i++) {
      const r = await must(api.GET("/v1/reports/call-history", { params: { query: { pageSize: PAGE, pageToken: token } } }));
      all.push(...(r.calls ?? []));
      token = r.nextPageToken || undefined;
      if (!token) break;
    }
    setRows(clientId ? all.filter((r) => r.call?.clientId === clientId) : all);
    setNext(token);
    setLoaded(true);
  }, [clientId]);

  const [pages, setPages] = useState(1);
  useEffect(() => {
    void load(pages).catch((e: unknown) => setError(errorText(e, "Call history could not be loaded.")));
  }, [load, pages]);

  // Recordings take a little while to compose: look again until nothing is changing.
  useEffect(() => {
    if (!settling(rows)) return;
    const t = window.setTimeout(() => void load(pages).catch(() => {}), 3000);
    return () => window.clearTimeout(t);
  }, [rows, load, pages]);

  if (error) return <p className="alert error" role="alert">{error}</p>;
  if (!loaded) return <p className="muted">Loading…</p>;
  if (rows.length === 0) return <p className="muted">No video calls yet.</p>;
  return (
    <>
      <table className="history">
        <thead>
          <tr><th>Started</th>{!clientId && <th>Client</th>}<th>Host</th><th>Participants</th><th>Length</th><th>Recordings</th></tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const c = r.call ?? {};
            const when = c.startTime ?? c.createTime;
            return (
              <tr key={c.id}>
                <td>{formatDateTime(when)}{c.state !== "ended" && <div className="muted small">{c.state === "live" ? "under way" : "not started"}</div>}</td>
                {!clientId && <td>{c.clientId ? <Link href={`/clients/${c.clientId}`}>{r.clientName || "Client"}</Link> : r.clientName || "—"}</td>}
                <td>{r.hostName}</td>
                <td>{(r.participantNames ?? []).join(", ") || "—"}</td>
                <td>{c.state === "ended" && c.startTime ? formatDuration(r.durationSeconds) : "—"}</td>
                <td>
                  {(r.recordings ?? []).length === 0 ? <span className="muted">None</span> : (
                    <div className="recs">{(r.recordings ?? []).map((x) => <RecordingCell key={x.id} r={x} when={when} />)}</div>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {next && <p><button type="button" onClick={() => setPages((p) => p + 1)}>Show older calls</button></p>}
    </>
  );
}

export function CallHistory() {
  return (
    <div className="page">
      <h1>Call history</h1>
      <p className="muted">Every video call of the clinic. Recordings are kept by Vetline; those under 60 minutes can be downloaded.</p>
      <section className="card" aria-label="Calls">
        <CallHistoryTable />
      </section>
    </div>
  );
}
