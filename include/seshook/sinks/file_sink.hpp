#pragma once

#include <memory>

#include "seshook/config/config.hpp"
#include "seshook/config/table_reader.hpp"
#include "seshook/sinks/sink.hpp"
#include "seshook/support/rotating_file.hpp"

namespace seshook {

/// Appends each record as one JSON line to a file that rotates by size. The line is handed to
/// the kernel (flushed) before the record counts as delivered, so a crash of seshook does not
/// lose it; it reopens the file on SIGHUP for logrotate.
class file_sink final : public sink {
public:
    file_sink(std::string name, std::vector<std::string> events, rotating_file::options file);

    /// Builds a file sink from its [[sinks]] table: path, max_bytes, max_files. Opens nothing.
    static std::unique_ptr<sink> from_config(const sink_config& common, table_reader& reader);

protected:
    void do_open() override;
    delivery_outcome do_consume(const record& r, std::stop_token stop) override;
    void do_flush(bool sync) override;
    void do_reopen() override;
    void do_close() override;

private:
    rotating_file file_;
};

}  // namespace seshook
