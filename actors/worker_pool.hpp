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

#include "runtime/core/node_labels.hpp"
#include "runtime/messages/node_types.hpp"

namespace orch {

/// Where one attempt runs: here (`registration` empty), or on a node.
struct placement {
  std::string registration;
  std::string node_name;                     // here: this process's name
  node_session_actor node;
  bool local() const { return registration.empty(); }
};

/// A node with free slots, as a claim for it asks: its name, its labels
/// (only tasks it satisfies are claimed) and how many slots are free.
struct slot_offer {
  std::string registration;                  // "" here
  std::string node_name;
  label_map labels;
  uint32_t free = 0;
};

class worker_pool {
public:
  /// `local_slots` attempts at once in this process (0: none), shown as
  /// the node `local_name` with `local_labels` (the server's --labels).
  worker_pool(uint32_t local_slots, std::string local_name, label_map local_labels,
              micros started_at);

  /// Slots in all, here and on every node.
  uint32_t total() const;

  /// Every node with a free slot, in the order claims fill them: here first
  /// (nothing crosses the network), then the nodes with the most free.
  std::vector<slot_offer> offers() const;

  /// A free slot on the node of `registration` ("" here), counted as taken;
  /// nullopt when it has none free or has left.
  std::optional<placement> take(const std::string& registration);
  /// The attempt placed by take() ended (its slot is free again), on a node
  /// that may have left meanwhile.
  void give_back(const std::string& registration);

  /// A node offers its slots (`status.running`: attempts it runs already).
  void join(node_status status, node_session_actor handle);
  /// The node of `registration` was heard of (a renewal) at `at`.
  void seen(const std::string& registration, micros at);
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
