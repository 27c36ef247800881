#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace seshook::testing {

/// A listening socket handed to the daemon the way systemd's socket activation does.
struct passed_socket {
    int fd = -1;       // the test's descriptor; the daemon gets a copy of it
    std::string name;  // its FileDescriptorName=, e.g. "http"
};

/// What a test adds to the configuration of a daemon it starts. In every text, `{dir}` stands
/// for the daemon's folder, so that a test can place its own files there.
struct daemon_options {
    std::string listen = "127.0.0.1:0";  // [server] listen; "" for none, "[::1]:0" for IPv6
    std::string server_toml;             // extra lines of [server], e.g. `request_timeout = "1s"`
    // Lines of a [tls] table, e.g. `cert_file = "{dir}/cert.pem"`; when set, the daemon also
    // listens for HTTPS on 127.0.0.1 and an ephemeral port, and tls_port() returns it.
    std::string tls_toml;
    std::string schema_toml;               // lines of [schema], e.g. `mode = "strict"`
    std::string tables_toml;               // whole tables before the sinks, e.g. "[dedup]\n..."
    std::string sinks_toml;                // extra [[sinks]] tables, appended at the end
    bool file_sink = true;                 // a file sink "events" writing {dir}/events.jsonl
    std::string log_level = "info";        // the daemon needs at least info to announce its port
    std::string log_toml;                  // more lines of [log], e.g. `format = "json"`
    std::vector<std::string> arguments;    // extra command-line arguments
    std::vector<std::string> environment;  // extra "NAME=value" variables for the daemon
    // Sockets passed as systemd does: they become descriptors 3, 4, ... of the daemon, with
    // LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (the daemon's own pid) set.
    std::vector<passed_socket> passed_sockets;
    std::chrono::milliseconds start_timeout{10'000};
    // The folder to run in. Empty: a fresh temporary one, removed by the destructor. Given: an
    // existing folder that the caller owns and that is kept, so that a test can start a daemon
    // again where a previous one ran (its config is written anew, its other files stay).
    std::filesystem::path dir;
};

/// The real `seshook` binary (path from SESHOOK_BINARY) running in a fresh temporary folder (or
/// in `daemon_options::dir`) with a generated configuration on 127.0.0.1 (unless told otherwise)
/// and ephemeral ports.
/// Its stderr and stdout are read on a background thread and kept line by line. The destructor
/// kills (SIGKILL) and reaps a daemon still running, then removes a folder it created.
class daemon_process {
public:
    /// Starts the daemon and waits until it logs the ports it listens on; throws
    /// std::runtime_error (with the daemon's output) when it exits or stays silent instead.
    explicit daemon_process(daemon_options options = {});
    ~daemon_process();
    daemon_process(const daemon_process&) = delete;
    daemon_process& operator=(const daemon_process&) = delete;

    /// Returns the port of the plain HTTP listener; 0 when there is none.
    std::uint16_t port() const noexcept { return port_; }

    /// Returns the port of the HTTPS listener; 0 when there is none.
    std::uint16_t tls_port() const noexcept { return tls_port_; }

    /// Returns the process id.
    pid_t pid() const noexcept { return pid_; }

    /// Returns the folder that holds the config, the rejects and the sink files.
    const std::filesystem::path& dir() const noexcept { return dir_; }

    /// Returns the generated configuration file.
    std::filesystem::path config_path() const { return dir_ / "seshook.toml"; }

    /// Returns the path of the file sink "events".
    std::filesystem::path events_path() const { return dir_ / "events.jsonl"; }

    /// Returns the path of the rejects file.
    std::filesystem::path rejects_path() const { return dir_ / "rejects.jsonl"; }

    /// Writes the configuration file anew from `options` (its `dir` and `listen`-time ports
    /// aside: `{dir}` stands for this daemon's folder), for a test of a reload.
    void rewrite_config(const daemon_options& options) const;

    /// Sends `signal_number` to the daemon.
    void send_signal(int signal_number) const;

    /// Waits for the daemon to exit and returns its exit code (128 + N when killed by signal
    /// N), or nothing when it still runs after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);

    /// Returns true when a line of the output so far contains `text`.
    bool log_contains(std::string_view text) const;

    /// Waits until a line of the output contains `text`; returns false when `timeout` passed.
    bool wait_for_log(std::string_view text, std::chrono::milliseconds timeout) const;

    /// Returns the whole output so far, one line after the other.
    std::string log_text() const;

private:
    void start(const daemon_options& options);
    void read_output(int fd);
    std::optional<std::uint16_t> find_port_locked(std::string_view marker) const;
    void stop_reader();

    std::filesystem::path dir_;
    bool owns_dir_ = true;  // created here, so removed by the destructor
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    std::uint16_t port_ = 0;
    std::uint16_t tls_port_ = 0;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::vector<std::string> lines_;
    bool output_closed_ = false;
    std::thread reader_;
};

/// What a short run of the binary printed, and how it ended.
struct command_result {
    int exit_code = -1;  // 128 + N when killed by signal N
    std::string out;
    std::string err;
};

/// Runs the seshook binary with `arguments` in `working_dir` and waits for it (killing it after
/// `timeout`); for --help, --version and --check-config.
command_result run_seshook(const std::vector<std::string>& arguments,
                           const std::filesystem::path& working_dir,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Creates a fresh empty folder under /tmp (mkdtemp); throws on failure.
std::filesystem::path make_temp_dir(std::string_view prefix = "seshook-test");

/// Returns the value of the environment variable `name`; throws when it is unset.
std::string required_env(const char* name);

/// Returns every line of a JSON Lines file parsed; a missing file gives none. A last line that
/// is not complete yet (no newline) is left out, so a file being written can be read.
std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& path);

/// Waits until the file holds at least `count` complete JSON lines and returns them; returns
/// what it holds when `timeout` passed first.
std::vector<nlohmann::json> wait_for_json_lines(const std::filesystem::path& path,
                                                std::size_t count,
                                                std::chrono::milliseconds timeout);

}  // namespace seshook::testing
