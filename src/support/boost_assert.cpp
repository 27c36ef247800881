// The handler of Boost's assertions (BOOST_ENABLE_ASSERT_DEBUG_HANDLER, set on every target by
// seshook_configure_target): in builds without NDEBUG (the debug and fuzz presets) a failed
// assertion prints and aborts as assert() does, but for one assertion of Boost 1.81 that is
// wrong. Release builds compile Boost's assertions out and never call it.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

// WORKAROUND: Beast's chunked parser in Boost 1.81 asserts that it has 5 bytes when it reads
// the last chunk again, but a last chunk that comes first ("0\r\n", an empty body) and then one
// more byte gives it 4. The code after the assertion handles that case correctly; Boost 1.86
// relaxed the assertion (https://github.com/boostorg/beast/pull/2861). Without this, any client
// could abort a debug build by trickling an empty chunked body.
bool is_known_false_assertion(std::string_view expr, std::string_view function,
                              std::string_view file) {
    return expr == "n >= 5" && function.find("parse_chunk_header") != std::string_view::npos &&
           file.ends_with("boost/beast/http/impl/basic_parser.ipp");
}

}  // namespace

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
    if (is_known_false_assertion(expr, function, file)) return;
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
    std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file,
                          long line) {
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr,
                 msg);
    std::abort();
}

}  // namespace boost
