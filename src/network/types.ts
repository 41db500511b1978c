// The network part's records and the JSON netavark 1.4 reads on stdin and prints on setup
// (containers/netavark src/network/types.rs at v1.4.0).

export type NetworkDriver = 'bridge' | 'host' | 'null';

export interface IpamPool { Subnet: string; Gateway: string; IPRange?: string }

/** A network as berth stores it. */
export interface NetworkRecord {
  id: string;
  name: string;
  driver: NetworkDriver;
  created: string;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** Empty for host/none. One IPv4 pool: berth does not do IPv6. */
  ipam: IpamPool[];
  /** Host bridge interface (netavark's network_interface). */
  bridge: string;
  /** Embedded DNS (aardvark-dns) by container name; Docker's default bridge has none. */
  dns: boolean;
}

/** What a container asked for on one network (from NetworkingConfig or connect). */
export interface EndpointConfig {
  aliases: string[];
  ipv4?: string;
  mac?: string;
}

/** One container's attachment to one network; ip/mac set while the container runs. */
export interface Attachment {
  containerId: string;
  networkId: string;
  config: EndpointConfig;
  endpointId: string;
  ip: string;
  mac: string;
  iface: string;
}

/** A host port mapping as netavark takes it, plus what berth shows in Ports. */
export interface PortMapping {
  host_ip: string;
  container_port: number;
  host_port: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  range: number;
}

// ---- netavark wire types ------------------------------------------------------------------

export interface NvSubnet { subnet: string; gateway?: string; lease_range?: { start_ip?: string; end_ip?: string } }

export interface NvNetwork {
  name: string;
  id: string;
  driver: string;
  network_interface: string;
  internal: boolean;
  ipv6_enabled: boolean;
  dns_enabled: boolean;
  subnets: NvSubnet[];
  options: Record<string, string> | null;
  ipam_options: Record<string, string> | null;
  network_dns_servers: string[] | null;
}

export interface NvPerNetwork {
  interface_name: string;
  static_ips: string[];
  aliases: string[] | null;
  static_mac: string | null;
}

export interface NvOptions {
  container_id: string;
  container_name: string;
  networks: Record<string, NvPerNetwork>;
  network_info: Record<string, NvNetwork>;
  port_mappings: PortMapping[] | null;
  dns_servers: string[] | null;
}

export interface NvStatusBlock {
  dns_search_domains?: string[] | null;
  dns_server_ips?: string[] | null;
  interfaces?: Record<string, { mac_address: string; subnets?: { ipnet: string; gateway?: string | null }[] | null }> | null;
}

export type NvSetupResult = Record<string, NvStatusBlock>;
