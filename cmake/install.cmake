# `cmake --install` for the setpoint SDK: the static libraries, the public headers under
# include/setpoint/, the `setpoint` executable, and a CMake package so that another project can
#
#   find_package(setpoint REQUIRED)
#   target_link_libraries(my_operator PRIVATE setpoint::setpoint_runtime)
#
# Included at the end of the top-level CMakeLists.txt, after every target exists. See
# docs/sdk-install.md.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(SETPOINT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/setpoint)

# The libraries a consumer can link. setpoint_testing (the in-process test server) is optional:
# install it only when this tree defines it.
set(SETPOINT_EXPORTED_LIBRARIES
  setpoint_common setpoint_api setpoint_client setpoint_runtime setpoint_store setpoint_apiserver)
if(TARGET setpoint_testing)
  list(APPEND SETPOINT_EXPORTED_LIBRARIES setpoint_testing)
endif()

# Walk the link libraries of the exported targets. A static library's PRIVATE dependencies are part
# of its exported link interface too, so each one must be either (a) another library of this
# project, which then has to be exported as well (added here, so that a new internal dependency
# does not break the export), or (b) an imported target from a package setpointConfig.cmake finds.
# Anything else would make `find_package(setpoint)` fail on another machine: warn about it.
set(_setpoint_known_packages "Boost::;SQLite::;tl::;spdlog::;fmt::;yaml-cpp;Threads::;OpenSSL::;EXPAT::;gRPC::;protobuf::")
set(SETPOINT_EXTRA_DEPENDENCIES "")  # find_dependency() lines for optional packages (GTest, CLI11)
set(_setpoint_todo ${SETPOINT_EXPORTED_LIBRARIES})
while(_setpoint_todo)
  list(POP_FRONT _setpoint_todo _setpoint_target)
  get_target_property(_setpoint_libs ${_setpoint_target} LINK_LIBRARIES)
  get_target_property(_setpoint_ilibs ${_setpoint_target} INTERFACE_LINK_LIBRARIES)
  foreach(_setpoint_lib IN LISTS _setpoint_libs _setpoint_ilibs)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" _setpoint_lib "${_setpoint_lib}")
    if(NOT _setpoint_lib OR _setpoint_lib MATCHES "-NOTFOUND$")
      continue()
    elseif(TARGET ${_setpoint_lib})
      get_target_property(_setpoint_aliased ${_setpoint_lib} ALIASED_TARGET)
      if(_setpoint_aliased)
        set(_setpoint_lib ${_setpoint_aliased})
      endif()
      get_target_property(_setpoint_imported ${_setpoint_lib} IMPORTED)
      if(NOT _setpoint_imported)
        if(NOT _setpoint_lib IN_LIST SETPOINT_EXPORTED_LIBRARIES)
          message(STATUS "setpoint install: also exporting ${_setpoint_lib} (${_setpoint_target} links it)")
          list(APPEND SETPOINT_EXPORTED_LIBRARIES ${_setpoint_lib})
          list(APPEND _setpoint_todo ${_setpoint_lib})
        endif()
        continue()
      endif()
      if(_setpoint_lib MATCHES "^(GTest|CLI11)::")  # optional packages, only when something links them
        string(REGEX REPLACE "::.*" "" _setpoint_package "${_setpoint_lib}")
        if(NOT SETPOINT_EXTRA_DEPENDENCIES MATCHES "\\(${_setpoint_package}\\)")
          string(APPEND SETPOINT_EXTRA_DEPENDENCIES "find_dependency(${_setpoint_package})\n")
        endif()
        continue()
      endif()
      set(_setpoint_covered FALSE)
      foreach(_setpoint_prefix IN LISTS _setpoint_known_packages)
        string(FIND "${_setpoint_lib}" "${_setpoint_prefix}" _setpoint_at)
        if(_setpoint_at EQUAL 0)
          set(_setpoint_covered TRUE)
        endif()
      endforeach()
      if(NOT _setpoint_covered)
        message(WARNING "setpoint install: ${_setpoint_target} links ${_setpoint_lib}, which "
                        "cmake/setpointConfig.cmake.in does not find_dependency(); add it there")
      endif()
    elseif(NOT _setpoint_lib MATCHES "^\\$<")
      message(WARNING "setpoint install: ${_setpoint_target} links '${_setpoint_lib}', not a target: "
                      "the installed package will carry that name or path as is")
    endif()
  endforeach()
endwhile()

# The public headers use C++20 (std::jthread, std::stop_token, defaulted operator==), so a consumer
# must compile as C++20 too. Every library links setpoint_common, so it carries the requirement.
set_property(TARGET setpoint_common APPEND PROPERTY INTERFACE_COMPILE_FEATURES cxx_std_20)

# The libraries' own include directories are $<BUILD_INTERFACE:...> (source tree only); INCLUDES
# DESTINATION gives the installed targets <prefix>/include instead. The private headers under src/
# (apiserver, store internals) are not installed: setpoint_apiserver and setpoint_store are there
# to be linked (by setpoint_testing), not included.
install(TARGETS ${SETPOINT_EXPORTED_LIBRARIES}
  EXPORT setpointTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/setpoint DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS setpoint RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(EXPORT setpointTargets
  NAMESPACE setpoint::
  DESTINATION ${SETPOINT_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/setpointConfig.cmake.in
  ${PROJECT_BINARY_DIR}/setpointConfig.cmake
  INSTALL_DESTINATION ${SETPOINT_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_BINDIR)
# 0.x: a minor release may break the API, so only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/setpointConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/setpointConfig.cmake ${PROJECT_BINARY_DIR}/setpointConfigVersion.cmake
  DESTINATION ${SETPOINT_INSTALL_CMAKEDIR})
