// The first screen's reads start with the page, not after /v1/me has answered: a signed-in
// front desk sees the queue a round trip sooner. Each early answer is used once; a signed-out
// visitor's early queue read is a 401 nobody looks at.
import { api } from "../api/client";

type MeCall = ReturnType<typeof startMe>;
type QueueCall = ReturnType<typeof startQueue>;

// The queue as the inbox first asks for it: no filters, its first page.
export const FIRST_PAGE = 50;

function startMe() {
  return api.GET("/v1/me");
}
function startQueue() {
  return api.GET("/v1/conversations", { params: { query: { pageSize: FIRST_PAGE } } });
}

const onInbox = location.pathname === "/" || location.pathname.startsWith("/inbox");
let me: MeCall | undefined = startMe();
let queue: QueueCall | undefined = onInbox ? startQueue() : undefined;
// Signed out: the early queue was refused, and the inbox after signing in asks again.
void me.then(({ data }) => {
  if (!data) queue = undefined;
});

export function takeEarlyMe(): MeCall | undefined {
  const m = me;
  me = undefined;
  return m;
}

export function takeEarlyQueue(): QueueCall | undefined {
  const q = queue;
  queue = undefined;
  return q;
}
