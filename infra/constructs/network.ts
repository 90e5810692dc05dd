// The private network of `network: 'private'`: a VNet for the Container Apps environment and private endpoints.
import { Construct } from 'constructs';
import { VirtualNetwork } from '@cdktf/provider-azurerm/lib/virtual-network/index.js';
import { Subnet } from '@cdktf/provider-azurerm/lib/subnet/index.js';
import { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone/index.js';
import { PrivateDnsZoneVirtualNetworkLink } from '@cdktf/provider-azurerm/lib/private-dns-zone-virtual-network-link/index.js';
import { PrivateEndpoint } from '@cdktf/provider-azurerm/lib/private-endpoint/index.js';
import type { NetworkAddresses } from '../security-config.js';

/** Private DNS zones and private-link sub-resources of the services this stack puts behind private endpoints. */
export const PRIVATE_LINK = {
  keyVault: { zone: 'privatelink.vaultcore.azure.net', subresource: 'vault' },
  redisCache: { zone: 'privatelink.redis.cache.windows.net', subresource: 'redisCache' },
  managedRedis: { zone: 'privatelink.redis.azure.net', subresource: 'redisEnterprise' },
} as const;

export type PrivateLinkKind = keyof typeof PRIVATE_LINK;

export interface PrivateNetworkProps {
  readonly name: string;
  readonly location: string;
  readonly resourceGroupName: string;
  readonly addresses: NetworkAddresses;
  readonly tags: Readonly<Record<string, string>>;
}

export class PrivateNetwork extends Construct {
  readonly vnet: VirtualNetwork;
  /** Delegated to Microsoft.App/environments: the Container Apps environment's infrastructure subnet. */
  readonly appsSubnet: Subnet;
  readonly endpointsSubnet: Subnet;
  readonly endpoints: PrivateEndpoint[] = [];
  private readonly props: PrivateNetworkProps;
  private readonly zones = new Map<string, PrivateDnsZone>();

  constructor(scope: Construct, id: string, props: PrivateNetworkProps) {
    super(scope, id);
    this.props = props;
    const common = { location: props.location, resourceGroupName: props.resourceGroupName, tags: { ...props.tags } };
    this.vnet = new VirtualNetwork(this, 'vnet', { ...common, name: props.name, addressSpace: [props.addresses.addressSpace] });
    this.appsSubnet = new Subnet(this, 'apps', {
      name: 'snet-container-apps',
      resourceGroupName: props.resourceGroupName,
      virtualNetworkName: this.vnet.name,
      addressPrefixes: [props.addresses.appsSubnet],
      // A workload-profiles environment requires the delegation; a consumption-only one would need a /23 instead.
      delegation: [
        {
          name: 'container-apps',
          serviceDelegation: { name: 'Microsoft.App/environments', actions: ['Microsoft.Network/virtualNetworks/subnets/join/action'] },
        },
      ],
    });
    this.endpointsSubnet = new Subnet(this, 'endpoints', {
      name: 'snet-private-endpoints',
      resourceGroupName: props.resourceGroupName,
      virtualNetworkName: this.vnet.name,
      addressPrefixes: [props.addresses.endpointsSubnet],
    });
  }

  /**
   * A private endpoint for one service, registered in that service's privatelink DNS zone (created once and
   * linked to the VNet), so its public host name resolves to the private IP from inside the VNet.
   */
  connect(id: string, kind: PrivateLinkKind, target: { readonly name: string; readonly resourceId: string }): PrivateEndpoint {
    const link = PRIVATE_LINK[kind];
    const zone = this.zone(link.zone);
    const endpoint = new PrivateEndpoint(this, `${id}-endpoint`, {
      name: `pe-${target.name}`,
      location: this.props.location,
      resourceGroupName: this.props.resourceGroupName,
      subnetId: this.endpointsSubnet.id,
      privateServiceConnection: {
        name: `psc-${target.name}`,
        privateConnectionResourceId: target.resourceId,
        subresourceNames: [link.subresource],
        isManualConnection: false,
      },
      privateDnsZoneGroup: { name: 'default', privateDnsZoneIds: [zone.id] },
      tags: { ...this.props.tags },
    });
    this.endpoints.push(endpoint);
    return endpoint;
  }

  private zone(name: string): PrivateDnsZone {
    const existing = this.zones.get(name);
    if (existing) return existing;
    const slug = name.replace(/^privatelink\./, '').replace(/\./g, '-');
    const zone = new PrivateDnsZone(this, `zone-${slug}`, { name, resourceGroupName: this.props.resourceGroupName, tags: { ...this.props.tags } });
    new PrivateDnsZoneVirtualNetworkLink(this, `zone-${slug}-link`, {
      name: `link-${this.props.name}`,
      resourceGroupName: this.props.resourceGroupName,
      privateDnsZoneName: zone.name,
      virtualNetworkId: this.vnet.id,
      registrationEnabled: false,
      tags: { ...this.props.tags },
    });
    this.zones.set(name, zone);
    return zone;
  }
}
