#pragma once

#include <string_view>

// What every fuzz target asserts about a callback body, shared by the targets of this folder.
namespace seshook::fuzz {

/// Aborts with `what` on the error stream when `holds` is false, so that libFuzzer keeps the
/// input as a crash; used for invariants, where a plain assert would vanish under NDEBUG.
void require(bool holds, const char* what);

/// Validates `body` in lenient and in strict mode and checks what must hold of the outcome: a
/// rejection is well formed, strict mode accepts no more than lenient mode, identical input gets
/// identical ids, and each accepted event gives a record whose JSON line (as a file sink writes
/// it) is one line of valid JSON that parses back to the event and rebuilds to the same record,
/// as the spool and `seshook replay` rebuild it.
void check_callback_body(std::string_view body);

}  // namespace seshook::fuzz
