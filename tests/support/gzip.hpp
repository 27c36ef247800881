#pragma once

// gzip for tests, with zlib: what a client sends with `Content-Encoding: gzip`, and the way back
// to check what seshook kept. Link ZLIB::ZLIB to use it.

#include <zlib.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace seshook::testing {

/// Returns `bytes` as one gzip member (RFC 1952) at the best compression.
inline std::string gzip(std::string_view bytes) {
    z_stream stream{};
    // 16 + MAX_WBITS asks zlib for the gzip wrapper instead of its own.
    if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 9,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        throw std::runtime_error("gzip: deflateInit2 failed");
    }
    std::string out(deflateBound(&stream, static_cast<uLong>(bytes.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    stream.avail_in = static_cast<uInt>(bytes.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int result = deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    if (result != Z_STREAM_END) throw std::runtime_error("gzip: deflate did not finish");
    return out;
}

/// Returns the bytes of the gzip data `compressed` (one or more members); throws when it is not
/// whole and valid.
inline std::string gunzip(std::string_view compressed) {
    z_stream stream{};
    if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
        throw std::runtime_error("gunzip: inflateInit2 failed");
    }
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    stream.avail_in = static_cast<uInt>(compressed.size());
    std::string out;
    int result = Z_OK;
    while (result != Z_STREAM_END || stream.avail_in > 0) {
        if (result == Z_STREAM_END) inflateReset(&stream);
        char chunk[16384];
        stream.next_out = reinterpret_cast<Bytef*>(chunk);
        stream.avail_out = sizeof chunk;
        result = inflate(&stream, Z_NO_FLUSH);
        if (result != Z_OK && result != Z_STREAM_END) {
            inflateEnd(&stream);
            throw std::runtime_error("gunzip: invalid gzip data");
        }
        out.append(chunk, sizeof chunk - stream.avail_out);
    }
    inflateEnd(&stream);
    return out;
}

}  // namespace seshook::testing
