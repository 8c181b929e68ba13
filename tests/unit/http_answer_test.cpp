// A request's answer: sent once from whichever thread decides it, a
// fallback when it is dropped unanswered, and the server's own 503 when the
// handler takes too long to answer (its late answer dropped, the
// connection still serving the next request).
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "runtime/core/http_types.hpp"
#include "runtime/platform/http/http_client.hpp"
#include "runtime/platform/http/http_server.hpp"

using namespace orch;

TEST_CASE("http answer: the first answer is sent and later ones are ignored", "[http]") {
  std::vector<int> sent;
  http_answer answer{[&](http_response r) { sent.push_back(r.status); }, http_response{503}};
  auto copy = answer;
  CHECK(copy.pending());
  copy(http_response{201});
  CHECK_FALSE(answer.pending());
  answer(http_response{500});
  copy = {};
  answer = {};
  CHECK(sent == std::vector<int>{201});
}

TEST_CASE("http answer: dropped unanswered, the last copy sends the fallback", "[http]") {
  std::vector<int> sent;
  {
    http_answer answer{[&](http_response r) { sent.push_back(r.status); }, http_response{503}};
    auto copy = answer;
    answer = {};
    CHECK(sent.empty());  // a copy still holds it
  }
  CHECK(sent == std::vector<int>{503});
}

TEST_CASE("http server: a handler slower than the answer timeout gets the client a 503, and its "
          "late answer is dropped", "[http]") {
  std::mutex m;
  std::condition_variable cv;
  std::vector<http_reply_fn> held;
  http_server_config cfg;
  cfg.port = 0;
  cfg.answer_timeout = std::chrono::seconds(1);
  http_server server{cfg, [&](http_request req, http_reply_fn reply) {
                       if (req.path == "/slow") {
                         std::lock_guard<std::mutex> g{m};
                         held.push_back(std::move(reply));
                         cv.notify_all();
                         return;
                       }
                       reply(http_response{200, "application/json", "{\"fast\":true}"});
                     }};
  auto port = server.start();
  REQUIRE(port);
  http_client client{"127.0.0.1", port.value()};
  auto slow = client.get("/slow");
  CHECK(slow.status == 503);
  CHECK(slow.body.find("no answer within 1 s") != std::string::npos);
  {
    std::unique_lock<std::mutex> g{m};
    REQUIRE(cv.wait_for(g, std::chrono::seconds(5), [&] { return !held.empty(); }));
    held.front()(http_response{200, "application/json", "{\"late\":true}"});
  }
  // The same connection serves the next request with its own answer.
  auto next = client.get("/fast");
  CHECK(next.status == 200);
  CHECK(next.body == "{\"fast\":true}");
  server.stop();
}
