#include "seshook/sinks/file_sink.hpp"

#include <utility>

namespace seshook {

file_sink::file_sink(std::string name, std::vector<std::string> events, rotating_file::options file)
    : sink("file", std::move(name), std::move(events)), file_(std::move(file)) {}

void file_sink::do_open() { file_.open(); }

delivery_outcome file_sink::do_consume(const record& r, std::stop_token /*stop*/) {
    // NOTE: flushed before it counts as delivered: once in the kernel, a crash of seshook cannot
    // lose the line; only a crash of the machine can, which close() guards with a sync.
    file_.append_line(r.to_json_line());
    file_.flush();
    return delivery_outcome::delivered;
}

void file_sink::do_flush() { file_.flush(); }

void file_sink::do_reopen() { file_.reopen(); }

void file_sink::do_close() { file_.flush(true); }

}  // namespace seshook
