# Helpers shared by every folder of the build.

# vetline_library(NAME SOURCES... DEPS...) — a static library with project warnings.
function(vetline_library name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_library(${name} STATIC ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${VETLINE_WARNINGS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# vetline_test(NAME SOURCES... DEPS... [TIMEOUT seconds, default 300]) — a Catch2 binary; every
# TEST_CASE becomes a ctest.
# Tests that need PostgreSQL/Redis find the run's shared servers through the fixture.
function(vetline_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${VETLINE_WARNINGS})
  target_link_libraries(${name} PRIVATE vetline_testing_main ${ARG_DEPS})
  catch_discover_tests(${name}
    EXTRA_ARGS -w NoTests
    PROPERTIES FIXTURES_REQUIRED test_servers
               ENVIRONMENT "VETLINE_TEST_SERVERS=${PROJECT_BINARY_DIR}/test-servers"
               TIMEOUT ${ARG_TIMEOUT})
endfunction()

# vetline_embed_migrations(TARGET SCHEMA DIR) — compiles DIR/*.sql into TARGET as
# `vetline::pg::Migrations <schema>_migrations()`, so binaries carry their schema with them.
function(vetline_embed_migrations target schema dir)
  file(GLOB sql_files CONFIGURE_DEPENDS "${dir}/*.sql")
  list(SORT sql_files)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${schema}_migrations.cc")
  set(body "// Generated from ${dir} by vetline_embed_migrations; do not edit.\n")
  string(APPEND body "#include \"libs/pg/migrations.h\"\nnamespace vetline::pg {\n")
  string(APPEND body "const std::vector<Migration>& ${schema}_migrations() {\n")
  string(APPEND body "  static const std::vector<Migration> kMigrations = {\n")
  foreach(f ${sql_files})
    get_filename_component(fname "${f}" NAME)
    file(READ "${f}" sql)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${f}")
    string(APPEND body "    {\"${fname}\", R\"vetline_sql(${sql})vetline_sql\"},\n")
  endforeach()
  string(APPEND body "  };\n  return kMigrations;\n}\n}  // namespace vetline::pg\n")
  file(CONFIGURE OUTPUT "${out}" CONTENT "${body}" @ONLY)
  target_sources(${target} PRIVATE "${out}")
endfunction()
