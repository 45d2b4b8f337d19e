// vetline-conversations: the conversations service on its own (one Kubernetes deployment).
#include "services/conversations/conversations_component.h"

int main(int argc, char** argv) {
  return vetline::rpc::ServiceMain(argc, argv, vetline::conversations::Definition());
}
