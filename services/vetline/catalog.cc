#include "services/vetline/catalog.h"

#include "services/booking/booking_component.h"
#include "services/clients/clients_component.h"
#include "services/conversations/conversations_component.h"
#include "services/identity/identity_component.h"
#include "services/media/media_component.h"
#include "services/payments/payments_component.h"
#include "services/pims_sync/pims_sync_component.h"

namespace vetline::cli {

std::vector<rpc::ServiceDefinition> AllServices() {
  return {identity::Definition(), clients::Definition(), pims_sync::Definition(),
          media::Definition(), conversations::Definition(), booking::Definition(),
          payments::Definition()};
}

std::map<std::string, std::string> ServiceAddresses(int base_port) {
  return rpc::LocalAddresses(base_port);
}

}  // namespace vetline::cli
