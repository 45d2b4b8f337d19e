// vetline-identity: the identity service on its own (one Kubernetes deployment).
#include "services/identity/identity_component.h"

int main(int argc, char** argv) {
  return vetline::rpc::ServiceMain(argc, argv, vetline::identity::Definition());
}
