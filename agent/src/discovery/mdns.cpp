#include "discovery/mdns.hpp"

#include <algorithm>
#include <cctype>

namespace schoolnet::discovery {

namespace {

const dns::Name& services_enumeration() {
  static const dns::Name n = dns::Name::from_dotted("_services._dns-sd._udp.local");
  return n;
}

bool is_service_type(const dns::Name& n) {
  // "_name._tcp.local" or "_name._udp.local" (exactly: subtypes have "_sub" in between).
  if (n.labels.size() != 3) {
    return false;
  }
  std::string proto = n.labels[1];
  std::transform(proto.begin(), proto.end(), proto.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return !n.labels[0].empty() && n.labels[0][0] == '_' && (proto == "_tcp" || proto == "_udp");
}

// For "<instance>._ipp._tcp.local": the type part, or an empty name when it is not one.
dns::Name type_of_instance(const dns::Name& n) {
  if (n.labels.size() < 4) {
    return {};
  }
  dns::Name t;
  t.labels.assign(n.labels.end() - 3, n.labels.end());
  return is_service_type(t) ? t : dns::Name{};
}

std::string strip_domain(const dns::Name& type) {
  // "_ipp._tcp.local" -> "_ipp._tcp"
  dns::Name t = type;
  if (!t.labels.empty()) {
    t.labels.pop_back();
  }
  return t.to_string();
}

}  // namespace

std::string MdnsBrowser::key(const dns::Name& n) const {
  std::string k = n.to_string();
  std::transform(k.begin(), k.end(), k.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return k;
}

MdnsBrowser::Instance& MdnsBrowser::instance_for(const dns::Name& name) {
  auto& slot = instances_[key(name)];
  if (slot.first.labels.empty()) {
    slot.first = name;
    slot.second.label = name.labels.empty() ? std::string{} : name.labels.front();
    slot.second.type = strip_domain(type_of_instance(name));
  }
  return slot.second;
}

void MdnsBrowser::record(const dns::ResourceRecord& rr, const std::string& from) {
  const bool goodbye = rr.ttl == 0;
  if (rr.ptr && rr.name.equals(services_enumeration())) {
    if (!goodbye && is_service_type(*rr.ptr) && types_.size() < limits_.max_types) {
      types_.emplace(key(*rr.ptr), *rr.ptr);
    }
    return;
  }
  if (rr.ptr && is_service_type(rr.name)) {
    const dns::Name& inst = *rr.ptr;
    if (!type_of_instance(inst).equals(rr.name)) {
      return;  // a PTR that does not name an instance of this type
    }
    if (goodbye) {
      instances_.erase(key(inst));
      return;
    }
    if (types_.size() < limits_.max_types) {
      types_.emplace(key(rr.name), rr.name);
    }
    if (instances_.count(key(inst)) || instances_.size() < limits_.max_instances) {
      instance_for(inst).from = from;
    }
    return;
  }
  if ((rr.srv || rr.txt) && !type_of_instance(rr.name).labels.empty()) {
    if (goodbye) {
      if (rr.srv) {
        instances_.erase(key(rr.name));
      }
      return;
    }
    if (!instances_.count(key(rr.name)) && instances_.size() >= limits_.max_instances) {
      return;
    }
    Instance& in = instance_for(rr.name);
    if (in.from.empty()) {
      in.from = from;
    }
    if (rr.srv) {
      in.have_srv = true;
      in.port = rr.srv->port;
      in.target = key(rr.srv->target);
      host_names_.emplace(in.target, rr.srv->target);
    } else {
      in.have_txt = true;
      in.txt.clear();
      for (const std::string& entry : *rr.txt) {
        if (entry.empty()) {
          continue;  // an empty TXT record holds one empty string
        }
        auto [k, v] = dns::split_txt(entry);
        in.txt.emplace_back(std::move(k), v.value_or(std::string{}));
      }
    }
    return;
  }
  if (rr.a || rr.aaaa) {
    const std::string host = key(rr.name);
    const std::string addr = rr.a ? dns::format_a(*rr.a) : dns::format_aaaa(*rr.aaaa);
    if (goodbye) {
      auto it = host_addresses_.find(host);
      if (it != host_addresses_.end()) {
        it->second.erase(addr);
      }
      return;
    }
    if (host_addresses_.count(host) || host_addresses_.size() < limits_.max_hosts) {
      host_addresses_[host].insert(addr);
      host_names_.emplace(host, rr.name);
    }
  }
}

void MdnsBrowser::ingest(const dns::Message& message, const std::string& from) {
  if (!message.is_response()) {
    return;
  }
  for (const auto* section : {&message.answers, &message.authorities, &message.additionals}) {
    for (const dns::ResourceRecord& rr : *section) {
      record(rr, from);
    }
  }
}

bool MdnsBrowser::ask(std::vector<dns::Question>& out, const dns::Name& name, uint16_t type) {
  int& n = asked_[std::to_string(type) + "/" + key(name)];
  if (n >= limits_.asks_per_question) {
    return false;
  }
  ++n;
  out.push_back({name, type, 1, false});
  return true;
}

std::vector<std::vector<dns::Question>> MdnsBrowser::next_questions() {
  std::vector<dns::Question> all;
  ask(all, services_enumeration(), dns::kPtr);
  for (const auto& [k, type] : types_) {
    ask(all, type, dns::kPtr);
  }
  for (const auto& [k, entry] : instances_) {
    const auto& [name, in] = entry;
    if (!in.have_srv) {
      ask(all, name, dns::kSrv);
    }
    if (!in.have_txt) {
      ask(all, name, dns::kTxt);
    }
    if (in.have_srv && !in.target.empty() && !host_addresses_.count(in.target)) {
      auto hn = host_names_.find(in.target);
      if (hn != host_names_.end()) {
        ask(all, hn->second, dns::kA);
        ask(all, hn->second, dns::kAaaa);  // a host may have only an IPv6 address
      }
    }
  }
  std::vector<std::vector<dns::Question>> packets;
  for (size_t i = 0; i < all.size(); i += limits_.questions_per_packet) {
    const size_t end = std::min(all.size(), i + limits_.questions_per_packet);
    packets.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(i),
                         all.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return packets;
}

std::vector<MdnsHost> MdnsBrowser::hosts() const {
  std::map<std::string, MdnsHost> by_address;
  for (const auto& [k, entry] : instances_) {
    const Instance& in = entry.second;
    std::vector<std::string> addrs;
    std::string hostname;
    if (!in.target.empty()) {
      auto hn = host_names_.find(in.target);
      hostname = hn != host_names_.end() ? hn->second.to_string() : in.target;
      auto it = host_addresses_.find(in.target);
      if (it != host_addresses_.end()) {
        addrs.assign(it->second.begin(), it->second.end());
      }
    }
    // Prefer an IPv4 address as the host's primary one; fall back to the packet's sender.
    std::sort(addrs.begin(), addrs.end(), [](const std::string& a, const std::string& b) {
      const bool a4 = a.find(':') == std::string::npos;
      const bool b4 = b.find(':') == std::string::npos;
      return a4 != b4 ? a4 : a < b;
    });
    std::string primary = !addrs.empty() ? addrs.front() : in.from;
    if (primary.empty()) {
      continue;
    }
    MdnsHost& h = by_address[primary];
    h.address = primary;
    for (const auto& a : addrs) {
      if (std::find(h.addresses.begin(), h.addresses.end(), a) == h.addresses.end()) {
        h.addresses.push_back(a);
      }
    }
    if (h.addresses.empty()) {
      h.addresses.push_back(primary);
    }
    if (h.hostname.empty()) {
      h.hostname = hostname;
    }
    MdnsServiceInfo s;
    s.type = in.type;
    s.instance = in.label;
    s.port = in.port;
    s.txt = in.txt;
    s.target = hostname;
    h.services.push_back(std::move(s));
  }
  std::vector<MdnsHost> out;
  for (auto& [addr, h] : by_address) {
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace schoolnet::discovery
