// vetline-clients: the clients service on its own (one Kubernetes deployment).
#include "services/clients/clients_component.h"

int main(int argc, char** argv) {
  return vetline::rpc::ServiceMain(argc, argv, vetline::clients::Definition());
}
