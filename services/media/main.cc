// vetline-media: the media service on its own (one Kubernetes Deployment of several
// replicas; each call lives on the replica that owns it, see docs/architecture.md).
#include "services/media/media_component.h"

int main(int argc, char** argv) {
  return vetline::rpc::ServiceMain(argc, argv, vetline::media::Definition());
}
