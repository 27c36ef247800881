# Small helpers shared by every target of the project.

# Applies the language level, include paths, warnings and sanitizers of the project.
function(seshook_configure_target target)
    get_target_property(type ${target} TYPE)
    target_compile_features(${target} PUBLIC cxx_std_20)
    if(NOT type STREQUAL "EXECUTABLE")
        target_include_directories(${target} PUBLIC
            "${PROJECT_SOURCE_DIR}/include" "${PROJECT_SOURCE_DIR}/src")
    endif()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    # Boost's assertions, where they are on (no NDEBUG), go through src/support/boost_assert.cpp.
    target_compile_definitions(${target} PUBLIC BOOST_ENABLE_ASSERT_DEBUG_HANDLER)
    # NOTE: GCC 12 at -O2 warns -Wrestrict on plain `"text" + std::string` (GCC bug 105651, a
    # false positive inside libstdc++); it would bury real warnings, so it is turned off there.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
        target_compile_options(${target} PRIVATE -Wno-restrict)
    endif()
    if(SESHOOK_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
    # NOTE: -fno-sanitize-recover=all makes every UndefinedBehaviorSanitizer finding abort, so
    # that it fails the test (or the fuzz run) that met it instead of printing a line no one
    # reads. LeakSanitizer comes with AddressSanitizer on Linux and checks at every exit.
    if(SESHOOK_SANITIZE OR SESHOOK_FUZZ)
        target_compile_options(${target} PUBLIC -fsanitize=address,undefined
                                                -fno-sanitize-recover=all -fno-omit-frame-pointer)
        target_link_options(${target} PUBLIC -fsanitize=address,undefined)
    endif()
    # Coverage feedback for libFuzzer in every library a fuzz target links; the libFuzzer
    # runtime itself (-fsanitize=fuzzer) is linked by the fuzz targets alone.
    if(SESHOOK_FUZZ)
        target_compile_options(${target} PUBLIC -fsanitize=fuzzer-no-link)
    endif()
endfunction()

# Adds a GoogleTest executable from the given sources, linked to the given libraries. Tests see
# SESHOOK_SOURCE_DIR in their environment; with NEEDS_DAEMON they also see SESHOOK_BINARY, the
# path of the seshook executable (only then do they wait for it to be built).
function(seshook_add_test name)
    cmake_parse_arguments(ARG "NEEDS_DAEMON" "" "SOURCES;LIBS" ${ARGN})
    add_executable(${name} ${ARG_SOURCES})
    seshook_configure_target(${name})
    target_include_directories(${name} PRIVATE "${PROJECT_SOURCE_DIR}/tests")
    target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest_main GTest::gmock)
    # NOTE: gtest_discover_tests splits property values at ';', so each variable goes through a
    # property of its own rather than one list.
    set(properties ENVIRONMENT "SESHOOK_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
    if(ARG_NEEDS_DAEMON)
        add_dependencies(${name} seshook)
        list(APPEND properties ENVIRONMENT_MODIFICATION "SESHOOK_BINARY=set:$<TARGET_FILE:seshook>")
    endif()
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 PROPERTIES ${properties})
endfunction()
