// vetline-payments: the payments service on its own (one Kubernetes deployment).
#include "services/payments/payments_component.h"

int main(int argc, char** argv) {
  return vetline::rpc::ServiceMain(argc, argv, vetline::payments::Definition());
}
