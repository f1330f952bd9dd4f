/** One user's key sets: each device's pre-key level against the low threshold, its rotation history, its actions. */
import { useState } from 'preact/hooks';
import type { ViewProps } from '../app.tsx';
import { ConfirmDialog, type ConfirmRequest, ErrorNotice, PreKeyLevel, StatusBadge, useLoader } from '../components.tsx';
import { formatTime } from '../format.ts';
import { confirmKeyAction, keyActionLabels, keyActionsFor } from '../key-actions.ts';

interface Device {
  deviceId: string;
  deviceName: string | null;
  keyFormat: string;
  status: string;
  statusReason: string | null;
  identityKeyFingerprint: string;
  oneTimePreKeysRemaining: number;
  hasLastResortPreKey: boolean;
  signedPreKeyId: string;
  signedPreKeyCreatedAt: string;
  registeredAt: string;
  lastRotatedAt: string | null;
  revokedAt: string | null;
  rotationCount: number;
  rotations: Array<{ signedPreKeyId: string; createdAt: string; replacedAt: string }>;
}

interface UserKeySets {
  userId: string;
  preKeyLowThreshold: number;
  maxStoredPreKeys: number;
  devices: Device[];
}

export function UserView({ api, caps, announce, userId }: ViewProps & { userId: string }) {
  const [confirm, setConfirm] = useState<ConfirmRequest>();
  const user = useLoader(() => api.get<UserKeySets>(`/v1/admin/users/${encodeURIComponent(userId)}/key-sets`).then((answer) => answer.data), [api, userId]);
  const data = user.value;
  const scale = data ? Math.max(...data.devices.map((device) => device.oneTimePreKeysRemaining), data.preKeyLowThreshold * 4) : 0;
  return (
    <section aria-labelledby="user-title" aria-busy={user.loading}>
      <p>
        <a href="#/key-sets">← All key sets</a>
      </p>
      <h1 id="user-title">User {userId}</h1>
      {user.error !== undefined && <ErrorNotice error={user.error} />}
      {data && (
        <p class="hint">
          Bars show one-time pre-keys left; the mark is the low threshold ({data.preKeyLowThreshold}), below which the device is sent prekeys.low.
        </p>
      )}
      {data?.devices.map((device) => (
        <article class="device" aria-labelledby={`device-${device.deviceId}`} data-device={device.deviceId}>
          <h2 id={`device-${device.deviceId}`}>
            Device {device.deviceId}
            {device.deviceName && <span class="muted"> ({device.deviceName})</span>} <StatusBadge status={device.status} />
          </h2>
          <PreKeyLevel
            remaining={device.oneTimePreKeysRemaining}
            threshold={data.preKeyLowThreshold}
            scale={scale}
            label={`One-time pre-keys of device ${device.deviceId}`}
          />
          <dl class="facts">
            <dt>Identity key fingerprint</dt>
            <dd>
              <code>{device.identityKeyFingerprint}</code>
            </dd>
            <dt>Signed pre-key</dt>
            <dd>
              {device.signedPreKeyId}, since {formatTime(device.signedPreKeyCreatedAt)}
            </dd>
            <dt>Last-resort pre-key</dt>
            <dd>{device.hasLastResortPreKey ? 'yes' : 'none'}</dd>
            <dt>Registered</dt>
            <dd>{formatTime(device.registeredAt)}</dd>
            {device.statusReason && (
              <>
                <dt>Reason</dt>
                <dd>{device.statusReason}</dd>
              </>
            )}
            {device.revokedAt && (
              <>
                <dt>Revoked</dt>
                <dd>{formatTime(device.revokedAt)}</dd>
              </>
            )}
          </dl>
          <h3>Rotation history</h3>
          {device.rotationCount > device.rotations.length && (
            <p class="muted">
              The latest {device.rotations.length} of {device.rotationCount} rotations.
            </p>
          )}
          {device.rotations.length === 0 ? (
            <p class="muted">Never rotated.</p>
          ) : (
            <table aria-label={`Rotation history of device ${device.deviceId}`}>
              <thead>
                <tr>
                  <th scope="col">Signed pre-key</th>
                  <th scope="col">In use from</th>
                  <th scope="col">Replaced</th>
                </tr>
              </thead>
              <tbody>
                {device.rotations.map((rotation) => (
                  <tr>
                    <td>{rotation.signedPreKeyId}</td>
                    <td>{formatTime(rotation.createdAt)}</td>
                    <td>{formatTime(rotation.replacedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div class="row-actions">
            {keyActionsFor(caps, { userId, ...device }).map((action) => (
              <button
                type="button"
                class={action === 'revoke' ? 'danger' : ''}
                onClick={() => setConfirm(confirmKeyAction(api, action, { userId, ...device }))}
              >
                {keyActionLabels[action]} device {device.deviceId}
              </button>
            ))}
          </div>
        </article>
      ))}
      {confirm && (
        <ConfirmDialog
          request={confirm}
          onDone={(outcome) => {
            if (outcome === 'done') {
              announce(`${confirm.confirmLabel}: done.`);
              user.reload();
            }
            setConfirm(undefined);
          }}
        />
      )}
    </section>
  );
}
