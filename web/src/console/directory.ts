// Names for ids the inbox shows (clients, staff, teams), fetched once per id and shared
// by every screen; a conversation only carries ids.
import { useEffect, useState } from "react";
import { api, must, type Client, type StaffUser, type Team } from "../api/client";

const clients = new Map<string, Promise<Client | null>>();

export function loadClient(id: string, fresh = false): Promise<Client | null> {
  if (fresh || !clients.has(id)) {
    clients.set(
      id,
      must(api.GET("/v1/clients/{id}", { params: { path: { id } } })).catch(() => null),
    );
  }
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
    for (const id of key.split(",").filter(Boolean)) {
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
