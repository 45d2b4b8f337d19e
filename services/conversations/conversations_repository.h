// All SQL of the inbox: clinics and their statuses, conversations, messages with their
// files, attachments and deliveries, templates. Every query takes the clinic id, and a
// client viewer's queries also their client id, so a caller only ever reaches rows it may
// see. Each change appends its events (event_log.h) as the last statements of its
// transaction and hands them back for the caller to announce after commit.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/pg/pg.h"
#include "services/conversations/event_log.h"
#include "services/conversations/inbox_rules.h"
#include "vetline/api/types.pb.h"
#include "vetline/conversations/v1/conversations.pb.h"

namespace vetline::conversations {

// Who is looking: a clinic's staff user, or a client (portal account) who may see only
// their own conversations. A client principal without a client id (a prospect) sees none.
struct Viewer {
  std::string clinic_id;
  std::string user_id;  // staff user id, or the portal account id of a client
  bool client = false;
  std::string client_id;  // the client's profile id (clients only; empty for a prospect)
  api::Principal caller;  // as verified at the edge: calls to other services are made as it
  // How the viewer's messages are recorded: "staff:<user>" or "client:<client>".
  std::string Author() const;
};

// A conversation row: the proto as staff see it (preview = staff preview) plus the
// client's own preview.
struct ConversationRecord {
  v1::Conversation conversation;
  std::string client_preview;
};

struct ConversationFilter {
  std::string status_id;
  enum class Assignee { kAny, kUser, kTeam, kNobody } assignee = Assignee::kAny;
  std::string assignee_id;
  bool unread_only = false;
  std::string client_id;
  std::string pet_id;
  bool archived = false;
};

// A keyset position in a newest-first list: (time, id) of the last row of the page.
struct Cursor {
  absl::Time time;
  std::string id;
};

// A typed attachment other than a file (conversations.attachments): `content` is the proto
// Attachment's JSON, `ref_id` the call / payment request / form it is about.
struct TypedAttachment {
  std::string kind;  // video_call | call_record | payment_request | form | survey
  std::string content;
  std::string ref_id;
};

struct NewMessage {
  std::string conversation_id;
  v1::Author author = v1::STAFF;
  std::string author_id;
  std::string text;
  bool internal_note = false;
  v1::Channel received_via = v1::PORTAL;
  std::vector<std::string> file_ids;
  std::vector<TypedAttachment> attachments;
  // Who the deliveries go to; chosen by rules::ChooseDeliveries (empty for notes and
  // client messages).
  std::vector<rules::Target> deliveries;
};

struct NewFile {
  std::string id;  // chosen before the blob is stored (its key contains it)
  std::string conversation_id;
  std::string uploaded_by;
  std::string filename;
  std::string content_type;
  std::string category;
  int64_t size_bytes = 0;
  std::string blob_key;
};

struct StoredFile {
  v1::FileAttachment file;
  std::string clinic_id;
  std::string blob_key;
};

struct StatusChange {
  std::optional<std::string> name, color;
  std::optional<int> position;
  std::optional<bool> closed, retired;
};

using Events = std::vector<LoggedEvent>;

// A deliveries row (channel, state, destination, reason, attempts, update_time) as staff
// see it; shared with the delivery worker's repository.
void DeliveryFromRow(const pg::Result& r, int row, v1::Delivery* out);

class ConversationsRepository {
 public:
  explicit ConversationsRepository(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  // The clinic's settings (its row is created on first use). Setting a number another
  // clinic uses is AlreadyExists naming smsFromNumber; "" clears it.
  absl::StatusOr<v1::ConversationSettings> GetSettings(const std::string& clinic_id);
  absl::StatusOr<v1::ConversationSettings> SetSmsFromNumber(const std::string& clinic_id,
                                                            const std::string& number);

  // Statuses. The clinic's row and its "Open"/"Closed" statuses are created on first use.
  absl::StatusOr<std::vector<v1::ConversationStatus>> ListStatuses(const std::string& clinic_id);
  absl::StatusOr<v1::ConversationStatus> CreateStatus(const std::string& clinic_id,
                                                      const v1::ConversationStatus& s);
  absl::StatusOr<v1::ConversationStatus> UpdateStatus(const std::string& clinic_id,
                                                      const std::string& id,
                                                      const StatusChange& change);
  absl::Status DeleteStatus(const std::string& clinic_id, const std::string& id);
  // OK when `id` is one of the clinic's statuses (retired ones too: filters may name
  // them); NotFound naming statusId otherwise.
  absl::Status CheckStatus(const std::string& clinic_id, const std::string& id);

  // Conversations.
  // The client's latest non-archived conversation, or a new one (with the clinic's
  // default status); two concurrent starts for one client make one conversation.
  absl::StatusOr<ConversationRecord> StartConversation(const std::string& clinic_id,
                                                       const std::string& client_id,
                                                       const std::string& pet_id, Events* events);
  // The same inside the caller's transaction; its events are added to `logged`.
  absl::StatusOr<ConversationRecord> StartConversation(pg::Session& s, const std::string& clinic_id,
                                                       const std::string& client_id,
                                                       const std::string& pet_id, Events* logged);
  // Where a text or email from `sender_address` (E.164 or an address) that names no
  // known client lands, inside the caller's transaction: that sender's latest
  // non-archived conversation (unknown sender, or linked by staff since), or a new one
  // flagged unknown sender. Concurrent calls for one sender make one conversation.
  absl::StatusOr<ConversationRecord> OpenForSender(pg::Session& s, const std::string& clinic_id,
                                                   const std::string& sender_address,
                                                   Events* logged);
  absl::StatusOr<ConversationRecord> GetConversation(const Viewer& v, const std::string& id);
  absl::StatusOr<std::vector<ConversationRecord>> ListConversations(
      const Viewer& v, const ConversationFilter& f, const std::optional<Cursor>& after, int limit);
  absl::StatusOr<ConversationRecord> SetStatus(const std::string& clinic_id,
                                               const std::string& id,
                                               const std::string& status_id, Events* events);
  absl::StatusOr<ConversationRecord> Assign(const std::string& clinic_id, const std::string& id,
                                            const std::string& user_id,
                                            const std::string& team_id, Events* events);
  absl::StatusOr<ConversationRecord> SetArchived(const std::string& clinic_id,
                                                 const std::string& id, bool archived,
                                                 Events* events);
  absl::StatusOr<ConversationRecord> MarkRead(const Viewer& v, const std::string& id,
                                              Events* events);
  // Links an unknown sender's conversation (and that sender's other unlinked ones) to a
  // client; FailedPrecondition when it already belongs to a client.
  absl::StatusOr<ConversationRecord> LinkClient(const std::string& clinic_id,
                                                const std::string& id,
                                                const std::string& client_id, Events* events);
  // The clients service merged `merged_id` into `survivor_id` (its client.merged event):
  // every conversation and push subscription of the merged profile moves to the
  // survivor, inside the caller's transaction (the feed consumer's). Applying it again
  // moves nothing. Returns how many conversations moved; their events go to `logged`
  // for the consumer to announce after its commit.
  absl::StatusOr<int> MoveMergedClient(pg::Session& s, const std::string& clinic_id,
                                       const std::string& merged_id,
                                       const std::string& survivor_id, Events* logged);

  // Messages. SendMessage writes the message, attaches its files, updates the
  // conversation and queues the deliveries in one transaction.
  absl::StatusOr<v1::Message> SendMessage(const Viewer& v, const NewMessage& m, Events* events);
  // The same inside the caller's transaction (an inbound email's or text's, a feed consumer's); the events are appended
  // to `logged` for the caller to announce after its commit.
  absl::StatusOr<v1::Message> SendMessage(pg::Session& s, const Viewer& v, const NewMessage& m,
                                          Events* logged);
  // Every payment_request attachment of the request shows `status` (its latest).
  absl::Status SetPaymentRequestStatus(pg::Session& s, const std::string& clinic_id,
                                       const std::string& payment_request_id, const std::string& status);
  // Whether the call's record is already in one of the clinic's conversations.
  absl::StatusOr<bool> CallRecorded(pg::Session& s, const std::string& clinic_id,
                                    const std::string& call_id);
  // Newest first; a client viewer never gets internal notes.
  absl::StatusOr<std::vector<v1::Message>> ListMessages(const Viewer& v,
                                                        const std::string& conversation_id,
                                                        const std::optional<Cursor>& after,
                                                        int limit);
  // A failed delivery back to queued; FailedPrecondition when it has not failed.
  // Inside the caller's transaction: the conversation's messages after `after` (from the
  // first when empty), oldest first, internal notes and attachments included (what an
  // export to the PIMS writes), at most `limit`.
  absl::StatusOr<std::vector<v1::Message>> MessagesAfter(pg::Session& s, const std::string& clinic_id,
                                                         const std::string& conversation_id,
                                                         const std::optional<Cursor>& after, int limit);
  absl::StatusOr<v1::Message> RetryDelivery(const std::string& clinic_id,
                                            const std::string& conversation_id,
                                            const std::string& message_id,
                                            rules::Channel channel, Events* events);
  struct Hit {
    v1::Message message;
    std::string headline;
  };
  absl::StatusOr<std::vector<Hit>> SearchMessages(const Viewer& v, const std::string& query,
                                                  const std::optional<Cursor>& after, int limit);
  // The endpoints of the client's registered push subscriptions (one delivery each).
  absl::StatusOr<std::vector<std::string>> PushEndpoints(const std::string& clinic_id,
                                                         const std::string& client_id);

  // Files: stored when uploaded, attached by SendMessage.
  absl::StatusOr<v1::FileAttachment> InsertFile(const Viewer& v, const NewFile& f);
  absl::StatusOr<v1::FileAttachment> InsertFile(pg::Session& s, const Viewer& v, const NewFile& f);
  absl::StatusOr<StoredFile> GetFile(const std::string& clinic_id, const std::string& id);

  // Templates.
  absl::StatusOr<std::vector<v1::MessageTemplate>> ListTemplates(const std::string& clinic_id);
  absl::StatusOr<v1::MessageTemplate> GetTemplate(const std::string& clinic_id,
                                                  const std::string& id);
  absl::StatusOr<v1::MessageTemplate> CreateTemplate(const std::string& clinic_id,
                                                     const std::string& name,
                                                     const std::string& body);
  absl::StatusOr<v1::MessageTemplate> UpdateTemplate(const std::string& clinic_id,
                                                     const std::string& id,
                                                     const std::optional<std::string>& name,
                                                     const std::optional<std::string>& body);
  absl::Status DeleteTemplate(const std::string& clinic_id, const std::string& id);

 private:
  absl::StatusOr<std::string> EnsureClinic(pg::Session& s, const std::string& clinic_id);
  absl::Status LoadDetails(pg::Session& s, const std::string& clinic_id, bool client_view,
                           std::vector<v1::Message*> messages);
  std::shared_ptr<pg::Pool> pool_;
};

}  // namespace vetline::conversations
