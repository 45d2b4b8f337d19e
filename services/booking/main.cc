// vetline-booking: the booking service on its own (one Kubernetes deployment).
#include "services/booking/booking_component.h"

int main(int argc, char** argv) {
  return vetline::rpc::ServiceMain(argc, argv, vetline::booking::Definition());
}
