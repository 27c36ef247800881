# Runs at install time (`cmake --install`, and CPack for the .deb), so that the prefix of the
# moment decides the paths: the units go to PREFIX/lib/systemd/system with ExecStart naming
# PREFIX/bin/seshook, and the config and the logrotate snippet go to /etc when the prefix is /usr
# (as for the .deb) and to PREFIX/etc otherwise, as GNUInstallDirs places sysconfdir.
# Expects SESHOOK_SOURCE_DIR and SESHOOK_BINARY_DIR to be set before it runs.

set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
    set(etc "/etc")
else()
    set(etc "${prefix}/etc")
endif()
set(dist "${SESHOOK_SOURCE_DIR}/dist")
# The rewritten unit is staged in the build tree: in an install script CMAKE_CURRENT_BINARY_DIR
# is the folder `cmake --install` was run from, the source tree itself for a newcomer.
set(staging "${SESHOOK_BINARY_DIR}/service-files")
file(MAKE_DIRECTORY "${staging}")

# The service unit, with the binary and the config where this install puts them.
file(READ "${dist}/systemd/seshook.service" unit)
string(REPLACE "/usr/bin/seshook" "${prefix}/bin/seshook" unit "${unit}")
string(REPLACE "/etc/seshook/" "${etc}/seshook/" unit "${unit}")
file(WRITE "${staging}/seshook.service" "${unit}")
file(INSTALL "${staging}/seshook.service" "${dist}/systemd/seshook.socket"
             "${dist}/systemd/seshook-https.socket"
     DESTINATION "${prefix}/lib/systemd/system")
file(INSTALL "${dist}/sysusers/seshook.conf" DESTINATION "${prefix}/lib/sysusers.d")

# The production config, unless one is there already: an operator's edits are never overwritten.
set(config "$ENV{DESTDIR}${etc}/seshook/seshook.toml")
if(EXISTS "${config}")
    message(STATUS "Keeping: ${config} (the default is in ${prefix}/share/doc/seshook)")
else()
    file(INSTALL "${SESHOOK_SOURCE_DIR}/config/seshook.production.toml"
         DESTINATION "${etc}/seshook" RENAME seshook.toml)
endif()
file(INSTALL "${dist}/logrotate/seshook" DESTINATION "${etc}/logrotate.d")

# The documentation: the README, the default production config, the commented full one and
# the license (as Debian keeps it, in copyright).
file(INSTALL "${SESHOOK_SOURCE_DIR}/README.md" DESTINATION "${prefix}/share/doc/seshook")
file(INSTALL "${SESHOOK_SOURCE_DIR}/config/seshook.production.toml"
     DESTINATION "${prefix}/share/doc/seshook")
file(INSTALL "${SESHOOK_SOURCE_DIR}/config/seshook.toml" DESTINATION "${prefix}/share/doc/seshook"
     RENAME seshook.toml.example)
file(INSTALL "${SESHOOK_SOURCE_DIR}/LICENSE" DESTINATION "${prefix}/share/doc/seshook"
     RENAME copyright)
