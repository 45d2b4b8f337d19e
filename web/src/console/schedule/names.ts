// The clinic's appointment types, providers and rooms by id, loaded once per screen: the
// schedule's lists carry ids only.
import { useEffect, useState } from "react";
import { api, must } from "../../api/client";

export const STATUS: Record<string, string> = {
  SCHEDULED: "Scheduled", CONFIRMED: "Confirmed", CHECKED_IN: "Checked in", COMPLETED: "Completed",
  CANCELLED: "Cancelled", NO_SHOW: "No show",
};

export interface BookingNames {
  types: Map<string, string>;
  providers: Map<string, string>;
  rooms: Map<string, string>;
}

export function useBookingNames(): BookingNames {
  const [names, setNames] = useState<BookingNames>({ types: new Map(), providers: new Map(), rooms: new Map() });
  useEffect(() => {
    let live = true;
    void Promise.all([
      must(api.GET("/v1/booking/appointment-types", { params: { query: { pageSize: 200 } } })),
      must(api.GET("/v1/booking/providers", { params: { query: { pageSize: 200 } } })),
      must(api.GET("/v1/booking/rooms", { params: { query: { pageSize: 200 } } })),
    ]).then(([t, p, r]) => {
      if (!live) return;
      setNames({
        types: new Map((t.appointmentTypes ?? []).map((x) => [x.id ?? "", x.name ?? ""])),
        providers: new Map((p.providers ?? []).filter((x) => x.active !== false).map((x) => [x.id ?? "", x.name ?? ""])),
        rooms: new Map((r.rooms ?? []).filter((x) => x.active !== false).map((x) => [x.id ?? "", x.name ?? ""])),
      });
    }, () => {});
    return () => {
      live = false;
    };
  }, []);
  return names;
}
