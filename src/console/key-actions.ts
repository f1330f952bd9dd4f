/** Suspend, unsuspend and revoke one device's key set: the requests and their confirmation texts. */
import type { Api } from './api.ts';
import type { Capabilities } from './caller.ts';
import type { ConfirmRequest } from './components.tsx';

export interface DeviceRef {
  userId: string;
  deviceId: string;
  status: string;
}

export type KeyAction = 'suspend' | 'unsuspend' | 'revoke';

/** The actions the key may take on this device now (revoked is final; suspended can only be lifted or revoked). */
export function keyActionsFor(caps: Capabilities, device: DeviceRef): KeyAction[] {
  if (!caps.can('keys.revoke') || !caps.mayActAs(device.userId) || device.status === 'revoked') return [];
  return device.status === 'suspended' ? ['unsuspend', 'revoke'] : ['suspend', 'revoke'];
}

export const keyActionLabels: Record<KeyAction, string> = { suspend: 'Suspend', unsuspend: 'Unsuspend', revoke: 'Revoke' };

export function confirmKeyAction(api: Api, action: KeyAction, device: DeviceRef): ConfirmRequest {
  const target = `${device.userId} (device ${device.deviceId})`;
  const body = { userId: device.userId, deviceId: device.deviceId };
  const texts: Record<KeyAction, Pick<ConfirmRequest, 'title' | 'message' | 'confirmLabel' | 'withReason' | 'danger'>> = {
    suspend: {
      title: `Suspend ${target}?`,
      message: 'Bundle fetches for this device are refused (403 KEYS_SUSPENDED) until it is unsuspended.',
      confirmLabel: 'Suspend',
      withReason: true,
    },
    unsuspend: { title: `Unsuspend ${target}?`, message: 'Bundles are served again.', confirmLabel: 'Unsuspend' },
    revoke: {
      title: `Revoke ${target}?`,
      message: 'Revocation is final: the device must register new keys. Its peers are told (keys.revoked, peer.keys.revoked).',
      confirmLabel: 'Revoke',
      withReason: true,
      danger: true,
    },
  };
  return {
    ...texts[action],
    run: async (reason) => {
      await api.call('POST', `/v1/keys/${action}`, action !== 'unsuspend' && reason ? { ...body, reason } : body);
    },
  };
}
