// KVServer: the server half of the parameter server on one rank.
//
// Holds this server's key range of every table, applies pushes with the table's rule (or
// combines them per clock and finalizes), answers pulls, and enforces the job's consistency:
// a pull from a worker at clock c is answered only once every worker has finished clocks
// 0..c-s-1 (ps/consistency.h; BSP s = 0, SSP s > 0, ASP never waits).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ps/consistency.h"
#include "ps/node.h"
#include "ps/rules.h"
#include "ps/server_table.h"
#include "ps/table.h"

namespace ecps::ps {

class KVServer {
 public:
  /// Registers as `node`'s server handler; construct before node.Start(). Pulls wait as
  /// `consistency` says.
  KVServer(Node& node, Consistency consistency);
  ~KVServer();
  KVServer(const KVServer&) = delete;
  KVServer& operator=(const KVServer&) = delete;

  /// Adds a table with its rule; `finalizer` is required meaningfully only for clocked tables
  /// (without one, a clocked table applies its rule to each clock's aggregate). Add every
  /// table before node.Start().
  template <class T>
  Status AddTable(const TableSpec& spec, std::unique_ptr<Rule<T>> rule,
                  std::unique_ptr<Finalizer<T>> finalizer = nullptr);

  /// This server's rows of a table (for checkpoints, exports and tests). Only safe to call
  /// when no messages are being processed (after the job's final barrier). A table that
  /// does not exist or holds another value type is a bug of the caller: std::logic_error
  /// (which the command turns into an internal error, exit 1).
  template <class T>
  std::span<const T> Rows(TableId id) const;
  KeyRange RangeOf(TableId id) const;

  /// Smallest number of clocks finished by every worker, as this server has seen.
  Clock min_clock() const { return min_clock_.load(); }

  // ---- Checkpoints (ps/table_shard.h) -------------------------------------------------
  /// Waits until every worker has finished `clock` clocks here (they are finalized). Fails
  /// on `deadline` (Timeout) or when the job aborts.
  Status WaitForClock(Clock clock, Deadline deadline) const;
  /// This server's shard of table `id` with its rule's and finalizer's state. Call from the
  /// job's thread while no worker pushes or ends a clock (every worker waits at a checkpoint,
  /// after WaitForClock). A missing or differently typed table: std::logic_error, as Rows.
  template <class T>
  Result<TableShard<T>> SaveShard(TableId id) const;
  /// Loads what SaveShard returned (cut to this server's range by SliceShards) before any
  /// worker pushes.
  template <class T>
  Status LoadShard(const TableShard<T>& shard);
  /// A resumed run: every worker counts as having finished clocks 0..clock-1 (call before
  /// any worker's clock arrives; workers call KVClient::ResumeAt with the same clock).
  void ResumeAt(Clock clock);

 private:
  Status AddTableImpl(std::unique_ptr<ServerTable> table);
  template <class T>
  TypedServerTable<T>& Typed(TableId id, const char* caller) const;
  void Handle(Message&& m);
  void HandleClock(const Message& m);
  void Reply(const Message& request, MsgType type, Blob values, Blob control = {},
             std::uint16_t flags = 0);
  /// Refuses `request`: the reply carries `why` (code and message) and `flags`.
  void Fail(const Message& request, const Status& why, std::uint16_t flags = 0);
  bool PullReady(const Message& m) const;
  void AnswerPull(const Message& m);

  Node& node_;
  const Consistency consistency_;
  std::map<TableId, std::unique_ptr<ServerTable>> tables_;
  std::vector<Clock> worker_clock_;  // clocks finished, per worker index
  std::atomic<Clock> min_clock_{0};  // read by WaitForClock from the job's thread
  std::vector<Message> waiting_pulls_;
};

template <class T>
Status KVServer::AddTable(const TableSpec& spec, std::unique_ptr<Rule<T>> rule,
                          std::unique_ptr<Finalizer<T>> finalizer) {
  ECPS_RETURN_IF_ERROR(spec.Validate());
  if (spec.type != ValueTypeOf<T>()) {
    return InvalidArgument("table " + spec.name + ": value type does not match the rule's");
  }
  RangePartition part(spec.num_keys, node_.roles().num_servers());
  FinalizeContext ctx;
  ctx.table = spec.id;
  ctx.range = part.RangeOf(node_.index());
  ctx.width = spec.width;
  ctx.server_index = node_.index();
  ctx.num_servers = node_.roles().num_servers();
  ctx.num_workers = node_.roles().num_workers();
  return AddTableImpl(
      std::make_unique<TypedServerTable<T>>(spec, ctx, std::move(rule), std::move(finalizer)));
}

template <class T>
TypedServerTable<T>& KVServer::Typed(TableId id, const char* caller) const {
  auto it = tables_.find(id);
  if (it == tables_.end()) {
    throw std::logic_error(std::string(caller) + ": no table " + std::to_string(id) +
                           " on this server");
  }
  auto* t = dynamic_cast<TypedServerTable<T>*>(it->second.get());
  if (t == nullptr) {
    throw std::logic_error(std::string(caller) + ": table " + it->second->spec().name +
                           " holds another value type");
  }
  return *t;
}

template <class T>
std::span<const T> KVServer::Rows(TableId id) const {
  return Typed<T>(id, "KVServer::Rows").values();
}

template <class T>
Result<TableShard<T>> KVServer::SaveShard(TableId id) const {
  return Typed<T>(id, "KVServer::SaveShard").Save();
}

template <class T>
Status KVServer::LoadShard(const TableShard<T>& shard) {
  return Typed<T>(shard.table, "KVServer::LoadShard").Load(shard);
}

}  // namespace ecps::ps
