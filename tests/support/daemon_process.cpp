#include "support/daemon_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include "support/temp_dir.hpp"

extern char** environ;

namespace seshook::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr std::string_view plain_listening_marker = "[server] listening on ";
constexpr std::string_view tls_listening_marker = "[tls] listening on ";
constexpr auto poll_interval = milliseconds(10);

std::system_error errno_error(const std::string& what) {
    return std::system_error(errno, std::generic_category(), what);
}

// Replaces every `{dir}` in `text` with the folder.
std::string expand_dir(std::string text, const std::filesystem::path& dir) {
    constexpr std::string_view placeholder = "{dir}";
    const std::string value = dir.string();
    for (auto at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
        text.replace(at, placeholder.size(), value);
    }
    return text;
}

std::string make_config_text(const daemon_options& options, const std::filesystem::path& dir) {
    std::string text;
    text += "[server]\nlisten = \"" + options.listen + "\"\n" + options.server_toml + "\n\n";
    if (!options.tls_toml.empty()) {
        text += "[tls]\nlisten = \"127.0.0.1:0\"\n" + options.tls_toml + "\n\n";
    }
    text += "[log]\nlevel = \"" + options.log_level + "\"\n" + options.log_toml + "\n\n";
    text += "[schema]\n" + options.schema_toml + "\n\n";
    text += "[rejects]\npath = \"{dir}/rejects.jsonl\"\n\n";
    text += options.tables_toml + "\n\n";
    if (options.file_sink) {
        text += "[[sinks]]\ntype = \"file\"\nname = \"events\"\npath = \"{dir}/events.jsonl\"\n\n";
    }
    text += options.sinks_toml + "\n";
    return expand_dir(std::move(text), dir);
}

// Returns a line of the log as the text format writes its message, "[component] message", also
// when the daemon logs in json format.
std::string as_text_line(const std::string& line) {
    if (line.empty() || line.front() != '{') return line;
    const auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("component") || !parsed.contains("message")) {
        return line;
    }
    return "[" + parsed["component"].get<std::string>() + "] " +
           parsed["message"].get<std::string>();
}

void write_file(const std::filesystem::path& path, std::string_view text) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!file.flush()) throw std::runtime_error("cannot write " + path.string());
}

constexpr std::string_view listen_pid_prefix = "LISTEN_PID=";

// The argument and environment arrays of a child, built before fork: the child may only call
// async-signal-safe functions, so it must not allocate.
struct exec_arrays {
    std::vector<std::string> argument_storage;
    std::vector<std::string> environment_storage;
    std::vector<char*> argv;
    std::vector<char*> envp;
    std::vector<int> passed_fds;        // become 3, 4, ... in the child
    char* listen_pid_digits = nullptr;  // where the child writes its pid, when sockets are passed

    exec_arrays(const std::string& binary, const std::vector<std::string>& arguments,
                const std::vector<std::string>& extra_environment = {},
                const std::vector<passed_socket>& passed = {}) {
        argument_storage.push_back(binary);
        argument_storage.insert(argument_storage.end(), arguments.begin(), arguments.end());
        for (auto& a : argument_storage) argv.push_back(a.data());
        argv.push_back(nullptr);

        // The daemon must listen where its config says and take only the tokens the test
        // gives it, whatever the test's environment holds.
        for (char** e = environ; *e != nullptr; ++e) {
            if (std::strncmp(*e, "SESHOOK_LISTEN=", 15) == 0) continue;
            if (std::strncmp(*e, "SESHOOK_AUTH_TOKENS=", 20) == 0) continue;
            environment_storage.emplace_back(*e);
        }
        environment_storage.insert(environment_storage.end(), extra_environment.begin(),
                                   extra_environment.end());
        if (!passed.empty()) add_passed_sockets(passed);
        for (auto& e : environment_storage) envp.push_back(e.data());
        envp.push_back(nullptr);
        if (!passed.empty()) {
            listen_pid_digits = environment_storage.back().data() + listen_pid_prefix.size();
        }
    }

    // Adds LISTEN_FDS and LISTEN_FDNAMES, then LISTEN_PID last with room for the child's pid,
    // which only the child knows.
    void add_passed_sockets(const std::vector<passed_socket>& passed) {
        std::string names;
        for (const auto& p : passed) {
            passed_fds.push_back(p.fd);
            names += (names.empty() ? "" : ":") + p.name;
        }
        environment_storage.push_back("LISTEN_FDS=" + std::to_string(passed.size()));
        environment_storage.push_back("LISTEN_FDNAMES=" + names);
        environment_storage.push_back(std::string(listen_pid_prefix) + std::string(20, '\0'));
    }
};

// Writes `pid` in decimal at `out`, which has room for it; async-signal-safe.
void write_pid(char* out, pid_t pid) {
    char reversed[20];
    int n = 0;
    for (auto value = static_cast<unsigned long>(pid); n == 0 || value > 0; value /= 10) {
        reversed[n++] = static_cast<char>('0' + value % 10);
    }
    while (n > 0) *out++ = reversed[--n];
    *out = 0;
}

// Forks and executes; in the child, `out_fd` and `err_fd` become stdout and stderr.
pid_t spawn(const exec_arrays& exec, const std::filesystem::path& working_dir, int out_fd,
            int err_fd) {
    const std::string dir = working_dir.string();
    const pid_t pid = ::fork();
    if (pid < 0) throw errno_error("fork");
    if (pid > 0) return pid;

    // Child: only async-signal-safe calls from here on.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &default_action, nullptr);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);

    // Passed sockets go to 3, 4, ... as systemd puts them: first out of the way of the targets,
    // then down into place (dup2 clears close-on-exec), with LISTEN_PID naming this process.
    const auto passed = static_cast<int>(exec.passed_fds.size());
    int moved[16];
    if (passed > 16) ::_exit(125);
    for (int i = 0; i < passed; ++i) moved[i] = ::fcntl(exec.passed_fds[i], F_DUPFD, 3 + passed);
    for (int i = 0; i < passed; ++i) ::dup2(moved[i], 3 + i);
    if (exec.listen_pid_digits != nullptr) write_pid(exec.listen_pid_digits, ::getpid());

    // NOTE: sockets of the test process (receivers, clients) must not live on in the daemon.
    ::close_range(3 + passed, ~0U, 0);
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execve(exec.argv[0], exec.argv.data(), exec.envp.data());
    ::_exit(127);
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// Waits for `pid` until `deadline`; returns its exit code, or nothing when it still runs.
std::optional<int> wait_until(pid_t pid, steady_clock::time_point deadline) {
    while (true) {
        int status = 0;
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) return decode_status(status);
        if (done < 0 && errno != EINTR) throw errno_error("waitpid");
        if (steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(poll_interval);
    }
}

}  // namespace

daemon_process::daemon_process(daemon_options options)
    : dir_(options.dir.empty() ? make_temp_dir("seshook-daemon") : options.dir),
      owns_dir_(options.dir.empty()) {
    try {
        start(options);
    } catch (...) {
        // The destructor does not run for a constructor that throws: clean up here.
        if (pid_ > 0 && !exit_code_) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        stop_reader();
        if (owns_dir_) {
            std::error_code ignored;
            std::filesystem::remove_all(dir_, ignored);
        }
        throw;
    }
}

void daemon_process::start(const daemon_options& options) {
    // Write the configuration, then start the daemon on it with its output in a pipe.
    write_file(config_path(), make_config_text(options, dir_));
    std::vector<std::string> arguments{"--config", config_path().string()};
    arguments.insert(arguments.end(), options.arguments.begin(), options.arguments.end());
    // NOTE: not const: the child writes its pid into the LISTEN_PID variable.
    exec_arrays exec(required_env("SESHOOK_BINARY"), arguments, options.environment,
                     options.passed_sockets);
    std::array<int, 2> pipe_fds{};
    if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) throw errno_error("pipe2");
    try {
        pid_ = spawn(exec, dir_, pipe_fds[1], pipe_fds[1]);
    } catch (...) {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        throw;
    }
    ::close(pipe_fds[1]);
    reader_ = std::thread([this, fd = pipe_fds[0]] { read_output(fd); });

    // Wait for the lines that name the bound ports.
    const bool wants_plain = !options.listen.empty();
    const bool wants_tls = !options.tls_toml.empty();
    const auto all_announced = [&] {
        return (!wants_plain || find_port_locked(plain_listening_marker)) &&
               (!wants_tls || find_port_locked(tls_listening_marker));
    };
    std::unique_lock lock(mutex_);
    const bool announced = changed_.wait_for(lock, options.start_timeout,
                                             [&] { return all_announced() || output_closed_; });
    if (all_announced()) {
        port_ = find_port_locked(plain_listening_marker).value_or(0);
        tls_port_ = find_port_locked(tls_listening_marker).value_or(0);
        return;
    }
    std::string log;
    for (const auto& line : lines_) log += line + "\n";
    lock.unlock();
    throw std::runtime_error(std::string(announced ? "seshook exited before listening"
                                                   : "seshook did not announce its port in time") +
                             "; its output:\n" + log);
}

daemon_process::~daemon_process() {
    // Kill and reap a daemon the test left running.
    if (pid_ > 0 && !exit_code_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    stop_reader();

    // Keep the folder for a post-mortem only when asked to; a folder the test gave is its own.
    if (owns_dir_ && std::getenv("SESHOOK_KEEP_TEST_DIRS") == nullptr) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
}

void daemon_process::rewrite_config(const daemon_options& options) const {
    // NOTE: written to a new file and renamed over the old one, so that the daemon never reads
    // half of it.
    const auto next = dir_ / "seshook.toml.next";
    write_file(next, make_config_text(options, dir_));
    std::filesystem::rename(next, config_path());
}

void daemon_process::send_signal(int signal_number) const {
    if (pid_ <= 0 || exit_code_) throw std::logic_error("send_signal: seshook is not running");
    if (::kill(pid_, signal_number) != 0) throw errno_error("kill");
}

std::optional<int> daemon_process::wait_exit(milliseconds timeout) {
    if (exit_code_) return exit_code_;
    exit_code_ = wait_until(pid_, steady_clock::now() + timeout);

    // Once it exited, its last lines are read before anyone looks at them.
    if (exit_code_) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, std::chrono::seconds(2), [this] { return output_closed_; });
    }
    return exit_code_;
}

bool daemon_process::log_contains(std::string_view text) const {
    std::lock_guard lock(mutex_);
    return std::any_of(lines_.begin(), lines_.end(),
                       [text](const std::string& line) { return line.find(text) != line.npos; });
}

bool daemon_process::wait_for_log(std::string_view text, milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    std::size_t checked = 0;
    return changed_.wait_for(lock, timeout, [&] {
        for (; checked < lines_.size(); ++checked) {
            if (lines_[checked].find(text) != std::string::npos) return true;
        }
        return false;
    });
}

std::string daemon_process::log_text() const {
    std::lock_guard lock(mutex_);
    std::string text;
    for (const auto& line : lines_) text += line + "\n";
    return text;
}

void daemon_process::read_output(int fd) {
    std::string partial;
    std::array<char, 4096> chunk{};
    while (true) {
        const ssize_t got = ::read(fd, chunk.data(), chunk.size());
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;

        // Keep complete lines; the rest waits for its end.
        partial.append(chunk.data(), static_cast<std::size_t>(got));
        std::lock_guard lock(mutex_);
        for (auto end = partial.find('\n'); end != std::string::npos; end = partial.find('\n')) {
            lines_.push_back(partial.substr(0, end));
            partial.erase(0, end + 1);
        }
        changed_.notify_all();
    }
    ::close(fd);
    std::lock_guard lock(mutex_);
    if (!partial.empty()) lines_.push_back(partial);
    output_closed_ = true;
    changed_.notify_all();
}

void daemon_process::stop_reader() {
    // NOTE: the reader ends at end of file, which comes once the daemon is dead and reaped.
    if (reader_.joinable()) reader_.join();
}

std::optional<std::uint16_t> daemon_process::find_port_locked(std::string_view marker) const {
    for (const auto& output_line : lines_) {
        const std::string line = as_text_line(output_line);
        const auto at = line.find(marker);
        if (at == std::string::npos) continue;
        const auto start = at + marker.size();
        const auto end = line.find(' ', start);
        const std::string_view address(line.data() + start,
                                       (end == std::string::npos ? line.size() : end) - start);
        const auto colon = address.rfind(':');
        if (colon == std::string_view::npos) continue;
        unsigned port = 0;
        const auto digits = address.substr(colon + 1);
        const auto [stop, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        if (ec == std::errc{} && port > 0 && port <= 65535) return static_cast<std::uint16_t>(port);
    }
    return std::nullopt;
}

command_result run_seshook(const std::vector<std::string>& arguments,
                           const std::filesystem::path& working_dir, milliseconds timeout) {
    // Start the binary with stdout and stderr in two pipes.
    const exec_arrays exec(required_env("SESHOOK_BINARY"), arguments);
    std::array<int, 2> out_pipe{};
    std::array<int, 2> err_pipe{};
    if (::pipe2(out_pipe.data(), O_CLOEXEC) != 0) throw errno_error("pipe2");
    if (::pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw errno_error("pipe2");
    }
    const pid_t pid = spawn(exec, working_dir, out_pipe[1], err_pipe[1]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);

    // Read both until they close or the time is up.
    command_result result;
    const auto deadline = steady_clock::now() + timeout;
    std::array<pollfd, 2> fds{pollfd{out_pipe[0], POLLIN, 0}, pollfd{err_pipe[0], POLLIN, 0}};
    std::array<std::string*, 2> targets{&result.out, &result.err};
    std::array<char, 4096> chunk{};
    while ((fds[0].fd >= 0 || fds[1].fd >= 0) && steady_clock::now() < deadline) {
        if (::poll(fds.data(), fds.size(), 50) < 0 && errno != EINTR) break;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            const ssize_t got = ::read(fds[i].fd, chunk.data(), chunk.size());
            if (got > 0) {
                targets[i]->append(chunk.data(), static_cast<std::size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
            }
        }
    }
    for (const auto& f : fds) {
        if (f.fd >= 0) ::close(f.fd);
    }

    // Reap it, killing it when it overstayed.
    auto code = wait_until(pid, std::max(deadline, steady_clock::now() + milliseconds(100)));
    if (!code) {
        ::kill(pid, SIGKILL);
        code = wait_until(pid, steady_clock::now() + std::chrono::seconds(5));
    }
    result.exit_code = code.value_or(-1);
    return result;
}

std::filesystem::path make_temp_dir(std::string_view prefix) {
    std::string pattern = "/tmp/" + std::string(prefix) + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw errno_error("mkdtemp " + pattern);
    return pattern;
}

std::string required_env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == 0) {
        throw std::runtime_error(std::string(name) +
                                 " is not set; run the test through ctest (seshook_add_test)");
    }
    return value;
}

std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& path) {
    const std::string text = read_file(path);
    std::vector<nlohmann::json> lines;
    std::size_t start = 0;
    for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
        const std::string_view line(text.data() + start, end - start);
        if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
        start = end + 1;
    }
    return lines;
}

std::vector<nlohmann::json> wait_for_json_lines(const std::filesystem::path& path,
                                                std::size_t count, milliseconds timeout) {
    const auto deadline = steady_clock::now() + timeout;
    while (true) {
        auto lines = read_json_lines(path);
        if (lines.size() >= count || steady_clock::now() >= deadline) return lines;
        std::this_thread::sleep_for(poll_interval);
    }
}

}  // namespace seshook::testing
