#include "actors/attempts.hpp"

#include "runtime/auth/task_tokens.hpp"
#include "runtime/platform/process/child_process.hpp"

namespace orch {

result<exec_spec> make_exec_spec(const task& t, const attempt_settings& s) {
  exec_spec spec;
  spec.task_id = t.id;
  spec.attempt = t.attempts;
  spec.env = t.env;
  spec.env["ORCHESTRATOR_TASK_ID"] = t.id;
  spec.env["ORCHESTRATOR_ATTEMPT"] = std::to_string(t.attempts);
  if (s.api)
    if (auto url = s.api->get(); !url.empty())
      spec.env["ORCHESTRATOR_URL"] = url;
  // Its own token (runtime/auth/task_tokens.hpp), unless the task was
  // given one: with it the task submits and follows its children.
  if (!s.task_token_key.empty() && !t.env.count("ORCHESTRATOR_TOKEN"))
    spec.env["ORCHESTRATOR_TOKEN"] = auth::task_token_text(s.task_token_key, t.id, t.attempts);
  spec.workdir = t.workdir;
  spec.timeout_s = t.timeout_s;
  spec.max_output_bytes = s.max_output_bytes;
  if (!t.command.empty()) {
    spec.argv.push_back(t.command);
    spec.argv.insert(spec.argv.end(), t.args.begin(), t.args.end());
    return spec;
  }
  if (s.nu_path.empty())
    return status{errc::invalid,
                  "Nushell ('nu') was not found: install it (the project's set-up does) or "
                  "start the orchestrator with --nu-path"};
  spec.argv = {s.nu_path, "--no-config-file"};
  if (!t.script.empty()) {
    spec.argv.push_back("-c");
    spec.argv.push_back(t.script);
  } else {
    spec.argv.push_back(t.script_file);
    spec.argv.insert(spec.argv.end(), t.args.begin(), t.args.end());
  }
  return spec;
}

attempt_outcome outcome_of(const exec_result& r, const task& t) {
  attempt_outcome out;
  out.output = r.output;
  out.error_output = r.error_output;
  if (!r.started) {
    out.error = "failed to start: " + r.error;
  } else if (r.timed_out) {
    out.error = "timed out after " + std::to_string(t.timeout_s) + " s";
    if (r.exited) {
      out.has_exit_code = true;
      out.exit_code = r.exit_code;
    }
  } else if (r.exited) {
    out.has_exit_code = true;
    out.exit_code = r.exit_code;
    if (r.exit_code != 0)
      out.error = "exited with code " + std::to_string(r.exit_code);
    else
      out.success = true;
  } else if (!r.error.empty()) {
    out.error = r.error;  // lost with the worker node that ran it
  } else {
    out.error = describe_signal(r.term_signal);
  }
  return out;
}

const char* outcome_label(const exec_result& r) {
  return !r.started                    ? "start_error"
         : r.timed_out                 ? "timeout"
         : r.cancelled                 ? "cancelled"
         : (!r.exited && !r.error.empty()) ? "lost"
         : (r.exited && r.exit_code == 0) ? "success"
                                          : "failure";
}

} // namespace orch
