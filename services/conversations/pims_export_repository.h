// SQL of exports to the PIMS (pims_export.proto): the export rows, which messages are new
// since the previous export, and the conversation.exported record pims_sync writes the
// note from, all in one transaction under the conversation's row lock, so two staff
// exporting at once cannot send the same messages twice.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/outbox/outbox.h"
#include "libs/pg/pg.h"
#include "services/conversations/conversations_repository.h"
#include "vetline/conversations/v1/pims_export.pb.h"

namespace vetline::conversations {

inline constexpr char kTopicConversationExported[] = "conversation.exported";

struct ExportRequest {
  std::string clinic_id, conversation_id, staff_id;
  bool whole = false;            // every message, not just those since the previous export
  absl::TimeZone zone;           // the clinic's, for the note's times and date
  std::string zone_name;
};

class PimsExportRepository {
 public:
  PimsExportRepository(std::shared_ptr<pg::Pool> pool, ConversationsRepository& conversations,
                       const outbox::Outbox& outbox)
      : pool_(std::move(pool)), conversations_(conversations), outbox_(outbox) {}

  absl::StatusOr<v1::PimsExport> Export(const ExportRequest& r);
  absl::StatusOr<std::vector<v1::PimsExport>> List(const std::string& clinic_id,
                                                   const std::string& conversation_id);

 private:
  std::shared_ptr<pg::Pool> pool_;
  ConversationsRepository& conversations_;
  const outbox::Outbox& outbox_;
};

}  // namespace vetline::conversations
