#include "seshook/sinks/file_sink.hpp"

#include <cstdint>
#include <limits>
#include <utility>

namespace seshook {

file_sink::file_sink(std::string name, std::vector<std::string> events, rotating_file::options file)
    : sink("file", std::move(name), std::move(events)), file_(std::move(file)) {}

void file_sink::do_open() { file_.open(); }

delivery_outcome file_sink::do_consume(const record& r, std::stop_token /*stop*/) {
    // NOTE: append_line() hands the line to the kernel before it counts as delivered: a crash
    // of seshook cannot lose it; only a crash of the machine can, which close() guards with a
    // sync.
    file_.append_line(r.to_json_line());
    return delivery_outcome::delivered;
}

void file_sink::do_flush(bool sync) { file_.flush(sync); }

void file_sink::do_reopen() { file_.reopen(); }

void file_sink::do_close() { file_.flush(true); }

namespace {

constexpr std::int64_t mib = 1024 * 1024;

}  // namespace

std::unique_ptr<sink> file_sink::from_config(const sink_config& common, table_reader& reader) {
    rotating_file::options file;
    file.path = reader.required_string("path");
    if (file.path.empty()) throw reader.error("path", "must not be empty");
    file.max_bytes = static_cast<std::uint64_t>(
        reader.integer_or("max_bytes", 100 * mib, 0, std::numeric_limits<std::int64_t>::max()));
    file.max_files = static_cast<unsigned>(reader.integer_or("max_files", 10, 1, 1000));
    return std::make_unique<file_sink>(common.name, common.events, std::move(file));
}

}  // namespace seshook
