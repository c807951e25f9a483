# mDNS discovery (issue 7): our DNS message codec, the sans-I/O engine and
# its Boost.Asio driver. Included by CMakeLists.txt in this folder.
target_sources(vudo_discovery PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/dns_message.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/mdns.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/mdns_service.cc)

vudo_test(mdns_test
  SOURCES dns_message_test.cc mdns_test.cc
  DEPS vudo_discovery)

# Real sockets inside a network namespace the test creates (needs root).
vudo_test(mdns_service_test
  SOURCES mdns_service_test.cc
  DEPS vudo_discovery)
