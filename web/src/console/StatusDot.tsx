import type { CSSProperties } from "react";
import type { ConversationStatus } from "../api/client";

// The status name with its clinic-chosen colour as a dot: the colour is set through the
// CSSOM (allowed by the CSP), the name carries the meaning.
export function StatusDot({ status }: { status: ConversationStatus }) {
  const style = { "--dot": status.color || undefined } as CSSProperties;
  return (
    <span className="status" style={style}>
      {status.name}
    </span>
  );
}
