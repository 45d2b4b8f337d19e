// The calls this process's rpc::Servers are serving, by their server context: the
// access-log interceptor (server.cc) enters each with its log fields, PrincipalOf adds the
// verified clinic, CallFieldsOf and the access-log line read them. Internal to libs/rpc.
#pragma once

#include <memory>
#include <mutex>

#include <grpcpp/grpcpp.h>

#include "libs/core/log.h"

namespace vetline::rpc::internal {

struct ServedCall {
  std::mutex mu;
  log::RequestFields fields;
};

std::shared_ptr<ServedCall> EnterCall(const grpc::ServerContextBase* ctx, log::RequestFields fields);
void LeaveCall(const grpc::ServerContextBase* ctx, const ServedCall* call);
std::shared_ptr<ServedCall> FindCall(const grpc::ServerContextBase* ctx);

}  // namespace vetline::rpc::internal
