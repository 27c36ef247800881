// The status line systemd shows for the service: where it listens and what it counted.

#include "seshook/daemon/service_status.hpp"

#include <gtest/gtest.h>

#include "support/failing_sink.hpp"
#include "support/recording_sink.hpp"

namespace seshook {
namespace {

using testing::failing_sink;
using testing::make_test_record;
using testing::recording_sink;

TEST(ServiceStatus, SaysWhereItListensAndWhatTheEndpointCounted) {
    handler_counters counters;
    counters.events_accepted = 12;
    counters.duplicate_events = 1;
    counters.requests_rejected = 3;
    counters.requests_accepted = 9;  // not shown: the events say more

    EXPECT_EQ(service_status("127.0.0.1:8080 (http)", counters, {}),
              "listening on 127.0.0.1:8080 (http); 12 events accepted, 1 repeats, 3 requests "
              "rejected");
}

TEST(ServiceStatus, GivesEachSinkItsDeliveredAndFailedCounts) {
    handler_counters counters;
    recording_sink events("events");
    failing_sink crm("crm");
    const auto r = make_test_record();
    (void)events.consume(r, {});
    (void)events.consume(r, {});
    (void)crm.consume(r, {});

    EXPECT_EQ(service_status("[::]:8081 (https)", counters, {&events, &crm}),
              "listening on [::]:8081 (https); 0 events accepted, 0 repeats, 0 requests "
              "rejected; sink events: 2 delivered, 0 failed; sink crm: 0 delivered, 1 failed");
}

}  // namespace
}  // namespace seshook
