// Find a client by name, pet, PIMS id, phone or email (the clients service's index-backed
// search), then open the profile.
import { useEffect, useState, type FormEvent } from "react";
import { api, must, type Client } from "../api/client";
import { formatPhone } from "../shared/format";
import { Link, navigate, usePath } from "../shared/router";
import { clientName } from "./directory";

export function ClientSearch() {
  const { query } = usePath();
  const q = query.get("q") ?? "";
  const [text, setText] = useState(q);
  const [results, setResults] = useState<Client[]>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!q) return setResults(undefined);
    let live = true;
    must(api.GET("/v1/clients", { params: { query: { query: q, pageSize: 30 } } })).then(
      (r) => live && setResults(r.clients ?? []),
      (e: unknown) => live && setError(e instanceof Error ? e.message : "Search failed."),
    );
    return () => {
      live = false;
    };
  }, [q]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    navigate(`/clients?q=${encodeURIComponent(text.trim())}`, true);
  };

  return (
    <div className="page">
      <h1>Clients</h1>
      <form className="search" role="search" onSubmit={submit}>
        <label htmlFor="client-q" className="visually-hidden">Search clients</label>
        <input id="client-q" type="search" value={text} onChange={(e) => setText(e.target.value)}
          placeholder="Name, pet, PIMS id, phone or email" />
        <button className="primary" type="submit">Search</button>
      </form>
      {error && <p className="alert error" role="alert">{error}</p>}
      {results && results.length === 0 && <p className="muted">No client matches “{q}”.</p>}
      <ul className="results">
        {(results ?? []).map((c) => {
          const phone = c.phones?.find((p) => p.primary) ?? c.phones?.[0];
          return (
            <li key={c.id}>
              <Link href={`/clients/${c.id}`}>
                <strong>{clientName(c)}</strong>
                {c.pimsId && <span className="muted small"> · PIMS {c.pimsId}</span>}
                <div className="muted small">
                  {[formatPhone(phone?.number), (c.pets ?? []).map((p) => p.name).join(", ")].filter(Boolean).join(" · ")}
                </div>
              </Link>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
