# Installs the library, its public headers, an exported CMake package (asyncfs::asyncfs for
# find_package) and asyncfs.pc for pkg-config. docs/install.md says how consumers use them.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS asyncfs EXPORT asyncfsTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/asyncfs
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")

set(ASYNCFS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/asyncfs)
install(EXPORT asyncfsTargets NAMESPACE asyncfs:: DESTINATION ${ASYNCFS_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/asyncfsConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/asyncfsConfig.cmake
                              INSTALL_DESTINATION ${ASYNCFS_CMAKE_DIR})
# 0.x: a new minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/asyncfsConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/asyncfsConfig.cmake
              ${PROJECT_BINARY_DIR}/asyncfsConfigVersion.cmake
        DESTINATION ${ASYNCFS_CMAKE_DIR})

# A static library's dependencies must be on the consumer's link line too, so they are plain
# Requires (a bare `pkg-config --libs asyncfs` works); a shared one keeps them private.
set(ASYNCFS_PC_PRIVATE_DEPS "libcurl fmt simdjson libcrypto zlib spdlog")
if(BUILD_SHARED_LIBS)
  set(ASYNCFS_PC_REQUIRES "libuv")
  set(ASYNCFS_PC_REQUIRES_PRIVATE "${ASYNCFS_PC_PRIVATE_DEPS}")
else()
  set(ASYNCFS_PC_REQUIRES "libuv ${ASYNCFS_PC_PRIVATE_DEPS}")
  set(ASYNCFS_PC_REQUIRES_PRIVATE "")
endif()
# Relocatable: the prefix is found from where the .pc file lies, so `cmake --install --prefix`
# anywhere gives a working file.
file(RELATIVE_PATH ASYNCFS_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" ASYNCFS_PC_TO_PREFIX "${ASYNCFS_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/asyncfs.pc.in ${PROJECT_BINARY_DIR}/asyncfs.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/asyncfs.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
