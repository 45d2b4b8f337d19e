// vetline-media: the media service on its own (one Kubernetes deployment, one replica
// per set of calls; see docs/architecture.md).
#include "services/media/media_component.h"

int main(int argc, char** argv) {
  return vetline::rpc::ServiceMain(argc, argv, vetline::media::Definition());
}
