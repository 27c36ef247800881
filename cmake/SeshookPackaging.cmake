# Installing (`cmake --install`) and the Debian package (`cpack -G DEB`, or `make deb`).

include(GNUInstallDirs)
install(TARGETS seshook RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The units, the config, the logrotate snippet and the documentation: at install time, as their
# paths depend on the prefix of that moment (see the script).
install(CODE "set(SESHOOK_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set(SESHOOK_BINARY_DIR \"${PROJECT_BINARY_DIR}\")")
install(SCRIPT "${PROJECT_SOURCE_DIR}/cmake/InstallServiceFiles.cmake")

# NOTE: with DESTDIR (CPACK_SET_DESTDIR), the install runs with the package's own prefix, /usr,
# so that the script above writes /usr/bin/seshook into the unit and puts the config in /etc.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "seshook")
set(CPACK_PACKAGE_VENDOR "seshook")
set(CPACK_PACKAGE_CONTACT "seshook maintainers <seshook@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Receiver of Tencent Cloud SES event callbacks\n seshook validates the email events Tencent Cloud SES posts, keeps them in a\n durable spool and hands them to sinks: the log, JSON Lines files and HTTP services.\n It runs as a hardened systemd service.")
# The shared libraries' packages come from dpkg-shlibdeps; adduser makes the system user where
# systemd-sysusers is missing.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd, logrotate")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/dist/debian/conffiles" "${PROJECT_SOURCE_DIR}/dist/debian/postinst"
    "${PROJECT_SOURCE_DIR}/dist/debian/prerm" "${PROJECT_SOURCE_DIR}/dist/debian/postrm")
include(CPack)
