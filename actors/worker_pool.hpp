// Where attempts can run: this process's own slots and the slots of the
// worker nodes registered with its coordinator. The scheduler asks it how
// many attempts it may claim and where to start each; it is the scheduler's
// own table (no actor), so it needs no locking.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caf/typed_actor.hpp"

#include "runtime/messages/node_types.hpp"

namespace orch {

/// Where one attempt runs: here (`registration` empty), or on a node.
struct placement {
  std::string registration;
  std::string node_name;                     // here: this process's name
  node_session_actor node;
  bool local() const { return registration.empty(); }
};

class worker_pool {
public:
  /// `local_slots` attempts at once in this process (0: none), shown as
  /// the node `local_name`.
  worker_pool(uint32_t local_slots, std::string local_name, micros started_at);

  /// Slots free now, here and on every node.
  uint32_t free() const;
  /// Slots in all, here and on every node.
  uint32_t total() const;

  /// A free slot for the next attempt (here first: nothing crosses the
  /// network; then the node with the most free slots), counted as taken;
  /// nullopt when none is free.
  std::optional<placement> take();
  /// The attempt placed by take() ended (its slot is free again), on a node
  /// that may have left meanwhile.
  void give_back(const std::string& registration);

  /// A node offers its slots (`status.running`: attempts it runs already).
  void join(node_status status, node_session_actor handle);
  /// It left: its slots are gone (the attempts it ran end on their own).
  /// False if it was not registered.
  bool leave(const std::string& registration);

  /// Every node, this process first (when it has slots of its own).
  std::vector<node_status> statuses() const;
  /// The node of `registration` ("" here), or nullptr if it left.
  const node_status* status_of(const std::string& registration) const;

private:
  struct node {
    node_status status;
    node_session_actor handle;
  };
  node_status local_;
  std::map<std::string, node> nodes_;      // by registration id
};

} // namespace orch
