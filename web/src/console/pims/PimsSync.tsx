// PIMS sync runs and their reports (S3, S10; admins): each nightly or incremental run with
// its state, what it read and wrote per kind of record, and a run's record errors; the
// writes back to the PIMS that failed, with a retry. Runs are started by the nightly job
// (`vetline pims-sync run`), not from here.
import { useCallback, useEffect, useState } from "react";
import { api, ApiError, must } from "../../api/client";
import type { components } from "../../api/schema";
import { formatDateTime } from "../../shared/format";
import { Link } from "../../shared/router";

type S = components["schemas"];
type Run = S["vetline.pims_sync.v1.Run"];
type Counts = S["vetline.pims_sync.v1.Counts"];
type Writeback = S["vetline.pims_sync.v1.Writeback"];

const STATE: Record<string, string> = {
  running: "Running", succeeded: "Succeeded", failed: "Failed", interrupted: "Interrupted (resumes next run)",
};
const KINDS: [keyof Run, string][] = [
  ["clients", "Clients"], ["pets", "Pets"], ["appointmentTypes", "Appointment types"], ["providers", "Providers"],
  ["rooms", "Rooms"], ["blockOffs", "Block-offs"], ["appointments", "Appointments"],
];
const n = (v: string | number | undefined) => Number(v ?? 0);

export function PimsSync({ runId }: { runId?: string }) {
  return runId ? <RunReport id={runId} /> : <Runs />;
}

function Runs() {
  const [runs, setRuns] = useState<Run[]>();
  const [connector, setConnector] = useState<S["vetline.pims_sync.v1.Connector"]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    must(api.GET("/v1/pims-sync/runs", { params: { query: { pageSize: 50 } } })).then((r) => setRuns(r.runs ?? []),
      (e: unknown) => setError(e instanceof Error ? e.message : "The sync runs could not be loaded."));
    // No connector set up reads as no PIMS.
    void must(api.GET("/v1/pims-sync/connector")).then(setConnector,
      (e: unknown) => e instanceof ApiError && e.status === 404 && setConnector({ kind: "none" }));
  }, []);
  return (
    <div className="page">
      <div className="profile-head"><h1>PIMS sync</h1></div>
      {connector && (
        <p className="muted">
          {connector.kind && connector.kind !== "none" ? `Connected to ${connector.kind} at ${connector.address}.` : "This clinic has no PIMS: Vetline's schedule is the record."}
        </p>
      )}
      {error && <p className="alert error" role="alert">{error}</p>}
      <section className="card" aria-labelledby="runs-h">
        <h2 id="runs-h">Runs</h2>
        {runs && runs.length === 0 && <p className="muted">No sync has run for this clinic yet.</p>}
        {runs && runs.length > 0 && (
          <div className="table-scroll">
            <table>
              <thead><tr><th>Started</th><th>Kind</th><th>State</th><th>Clients</th><th>Pets</th><th>Appointments</th><th>Failed records</th></tr></thead>
              <tbody>
                {runs.map((r) => (
                  <tr key={r.id}>
                    <td><Link href={`/pims-sync/${r.id}`}>{formatDateTime(r.startTime)}</Link></td>
                    <td>{r.mode === "full" ? "Nightly (full)" : "Incremental"}</td>
                    <td>{STATE[r.state ?? ""] ?? r.state}{n(r.attempts) > 1 && <div className="muted small">{r.attempts} attempts</div>}</td>
                    <td>{changed(r.clients)}</td>
                    <td>{changed(r.pets)}</td>
                    <td>{changed(r.appointments)}</td>
                    <td>{KINDS.reduce((sum, [k]) => sum + n((r[k] as Counts | undefined)?.failed), 0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <Writebacks />
    </div>
  );
}

function changed(c: Counts | undefined): string {
  if (!c) return "—";
  return `${n(c.inserted)} new, ${n(c.updated)} changed`;
}

function RunReport({ id }: { id: string }) {
  const [run, setRun] = useState<Run>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    must(api.GET("/v1/pims-sync/runs/{id}", { params: { path: { id } } })).then(setRun,
      (e: unknown) => setError(e instanceof Error ? e.message : "The run could not be loaded."));
  }, [id]);
  return (
    <div className="page">
      <p><Link href="/pims-sync">← All runs</Link></p>
      {error && <p className="alert error" role="alert">{error}</p>}
      {run && (
        <>
          <div className="profile-head">
            <h1>Sync of {formatDateTime(run.startTime)}</h1>
          </div>
          <p className="muted">
            {[run.mode === "full" ? "Nightly (full)" : "Incremental", STATE[run.state ?? ""] ?? run.state,
              run.finishTime && `finished ${formatDateTime(run.finishTime)}`,
              n(run.rowsPerSecond) > 0 && `${Math.round(n(run.rowsPerSecond))} records a second`].filter(Boolean).join(" · ")}
          </p>
          {run.error && <p className="alert error">{run.error}</p>}
          {(run.skipped ?? []).length > 0 && (
            <p className="alert info">The PIMS connector does not serve: {(run.skipped ?? []).join(", ")}.</p>
          )}
          <section className="card" aria-labelledby="counts-h">
            <h2 id="counts-h">Records</h2>
            <div className="table-scroll">
              <table>
                <thead><tr><th>Kind</th><th>New</th><th>Changed</th><th>Unchanged</th><th>Failed</th></tr></thead>
                <tbody>
                  {KINDS.map(([k, label]) => {
                    const c = run[k] as Counts | undefined;
                    return (
                      <tr key={k}>
                        <td>{label}</td><td>{n(c?.inserted)}</td><td>{n(c?.updated)}</td><td>{n(c?.unchanged)}</td><td>{n(c?.failed)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </section>
          <section className="card" aria-labelledby="errors-h">
            <h2 id="errors-h">Record errors</h2>
            {(run.errors ?? []).length === 0 ? <p className="muted">None.</p> : (
              <div className="table-scroll">
                <table>
                  <thead><tr><th>Record</th><th>PIMS id</th><th>Field</th><th>Problem</th></tr></thead>
                  <tbody>
                    {(run.errors ?? []).map((e, i) => (
                      <tr key={i}><td>{e.entity}</td><td>{e.pimsId}</td><td>{e.field}</td><td>{e.message}</td></tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      )}
    </div>
  );
}

// Writes to the PIMS that failed (a booking the PIMS refused, a note it could not take).
function Writebacks() {
  const [failed, setFailed] = useState<Writeback[]>();
  const [error, setError] = useState<string>();
  const load = useCallback(async () => {
    try {
      const r = await must(api.GET("/v1/pims-sync/writebacks", { params: { query: { state: "failed", pageSize: 50 } } }));
      setFailed(r.writebacks ?? []);
    } catch (e) {
      setError(e instanceof Error ? e.message : "The writes to the PIMS could not be loaded.");
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  const retry = async (w: Writeback) => {
    setError(undefined);
    try {
      await must(api.POST("/v1/pims-sync/writebacks/{id}/retry", { params: { path: { id: w.id! } }, body: {} }));
      await load();
    } catch (e) {
      setError(e instanceof Error ? e.message : "The write was not retried.");
    }
  };
  return (
    <section className="card" aria-labelledby="wb-h">
      <h2 id="wb-h">Writes to the PIMS that failed</h2>
      {error && <p className="alert error" role="alert">{error}</p>}
      {failed && failed.length === 0 && <p className="muted">None: everything booked in Vetline reached the PIMS.</p>}
      {failed && failed.length > 0 && (
        <ul className="results">
          {failed.map((w) => (
            <li key={w.id} className="writeback">
              <strong>{w.what} {w.action}</strong> <span className="muted small">{formatDateTime(w.updateTime)} · {w.attempts} attempts</span>
              <div>{w.lastError}</div>
              <button type="button" onClick={() => void retry(w)}>Try again</button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
