// GMime plumbing shared by building and parsing mail: one-time library set-up and
// owning pointers for GObjects.
#pragma once

#include <gmime/gmime.h>

#include <memory>

namespace vetline::conversations::channels::internal {

// g_mime_init, once per process (thread-safe).
void EnsureGMimeInitialised();

struct GObjectUnref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

}  // namespace vetline::conversations::channels::internal
