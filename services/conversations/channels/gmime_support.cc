#include "services/conversations/channels/gmime_support.h"

#include <mutex>

namespace vetline::conversations::channels::internal {

void EnsureGMimeInitialised() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

}  // namespace vetline::conversations::channels::internal
