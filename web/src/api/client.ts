// The typed API client. Paths, parameters and bodies come from src/api/schema.d.ts, which
// is generated from the gateway's /openapi.json (scripts/gen-api.sh): a route or field
// that a proto change removes is a type error here, not a surprise in the browser.
//
// The session travels in the gateway's HttpOnly `vetline_session` cookie (same origin),
// so no token is ever held by page scripts.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type S = components["schemas"];
export type Me = S["vetline.identity.v1.Me"];
export type StaffUser = S["vetline.identity.v1.StaffUser"];
export type Team = S["vetline.identity.v1.Team"];
export type Conversation = S["vetline.conversations.v1.Conversation"];
export type ConversationStatus = S["vetline.conversations.v1.ConversationStatus"];
export type Message = S["vetline.conversations.v1.Message"];
export type Attachment = S["vetline.conversations.v1.Attachment"];
export type FileAttachment = S["vetline.conversations.v1.FileAttachment"];
export type Delivery = S["vetline.conversations.v1.Delivery"];
export type MessageTemplate = S["vetline.conversations.v1.MessageTemplate"];
export type ConversationEvent = S["vetline.conversations.v1.Event"];
export type Client = S["vetline.clients.v1.Client"];
export type Phone = S["vetline.clients.v1.Phone"];
export type Pet = S["vetline.clients.v1.Pet"];
export type AssigneeFilter = NonNullable<
  NonNullable<paths["/v1/conversations"]["get"]["parameters"]["query"]>["assigneeFilter"]
>;

export const api = createClient<paths>({ baseUrl: "" });

// The gateway's error body: {"error": {"code", "message", "field"}}.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

// Every signed-in screen listens for this: a 401 means the session ended (expired,
// revoked, signed out elsewhere) and the app goes back to its sign-in page.
export const SESSION_ENDED = "vetline:session-ended";

api.use({
  onResponse({ request, response }) {
    if (response.status === 401 && !request.url.includes("/login")) {
      window.dispatchEvent(new Event(SESSION_ENDED));
    }
    return response;
  },
});

export function toError(response: Response, body: unknown): ApiError {
  const e = (body as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
  return new ApiError(
    response.status,
    e?.code ?? "UNKNOWN",
    e?.message ?? `the server answered ${response.status}`,
    e?.field,
  );
}

// Unwraps an openapi-fetch result: the data, or an ApiError with the server's words.
export async function must<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) throw toError(response, error);
  return data as T;
}

// The upload limit the conversations service enforces (--conversations-max-file-mib): said
// before the upload starts rather than after 25 MiB went over the wire.
export const MAX_FILE_BYTES = 25 * 1024 * 1024;

// Files go as the raw request body (the route's raw_body), so not through openapi-fetch's
// JSON body; the path is still checked against the schema.
const UPLOAD: keyof paths = "/v1/conversations/{conversation_id}/files";
export async function uploadFile(conversationId: string, file: File): Promise<FileAttachment> {
  const url =
    UPLOAD.replace("{conversation_id}", encodeURIComponent(conversationId)) +
    `?filename=${encodeURIComponent(file.name)}`;
  const response = await fetch(url, {
    method: "POST",
    body: file,
    headers: { "Content-Type": file.type || "application/octet-stream" },
  });
  const body = await response.json().catch(() => undefined);
  if (!response.ok) {
    if (response.status === 401) window.dispatchEvent(new Event(SESSION_ENDED));
    throw toError(response, body);
  }
  return (body as S["vetline.conversations.v1.UploadFileResponse"]).file!;
}
