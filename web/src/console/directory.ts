// Names for ids the inbox shows (clients, staff, teams), fetched once per id and shared
// by every screen; a conversation only carries ids.
import { useEffect, useState } from "react";
import { api, must, type Client, type StaffUser, type Team } from "../api/client";

const clients = new Map<string, Promise<Client | null>>();

function fetchOne(id: string): Promise<Client | null> {
  return must(api.GET("/v1/clients/{id}", { params: { path: { id } } })).catch(() => null);
}

// Ids not asked for yet go in batches (a page of the queue is one request, not fifty); an
// id its batch could not answer is asked for alone, so one bad id does not blank the rest.
function fetchMany(ids: string[]): void {
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const batch = must(api.GET("/v1/clients/batch", { params: { query: { ids: chunk } } })).then(
      (r) => new Map((r.clients ?? []).map((c) => [c.id ?? "", c])),
    );
    for (const id of chunk) {
      clients.set(
        id,
        batch.then(
          (m) => m.get(id) ?? fetchOne(id),
          () => fetchOne(id),
        ),
      );
    }
  }
}

export function loadClient(id: string, fresh = false): Promise<Client | null> {
  if (fresh || !clients.has(id)) clients.set(id, fetchOne(id));
  return clients.get(id)!;
}

export function clientName(c: Client | null | undefined): string {
  if (!c) return "Unknown client";
  return [c.firstName, c.lastName].filter(Boolean).join(" ") || "Unnamed client";
}

// Client records for a set of ids; re-renders as they arrive.
export function useClients(ids: string[]): Map<string, Client | null> {
  const [known, setKnown] = useState(new Map<string, Client | null>());
  const key = [...new Set(ids)].sort().join(",");
  useEffect(() => {
    let live = true;
    const all = key.split(",").filter(Boolean);
    fetchMany(all.filter((id) => !clients.has(id)));
    for (const id of all) {
      void loadClient(id).then((c) => {
        if (live) setKnown((m) => (m.get(id) === c ? m : new Map(m).set(id, c)));
      });
    }
    return () => {
      live = false;
    };
  }, [key]);
  return known;
}

export interface Directory {
  staff: StaffUser[];
  teams: Team[];
}

export async function loadDirectory(): Promise<Directory> {
  const [staff, teams] = await Promise.all([
    must(api.GET("/v1/staff", { params: { query: { pageSize: 200 } } })).catch(() => ({ staff: [] })),
    must(api.GET("/v1/teams")).catch(() => ({ teams: [] })),
  ]);
  return { staff: (staff.staff ?? []).filter((s) => s.active !== false), teams: teams.teams ?? [] };
}
