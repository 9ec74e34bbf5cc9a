// App-wide state: the coordinator's /info, the connected wallet account and the read session.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Info, SessionView } from './api.js';

export interface AppState {
  info: Info | null;
  /** The connected account (EIP-55), or null before "Connect wallet". */
  account: string | null;
  session: SessionView | null;
  connect(): Promise<void>;
  signIn(): Promise<void>;
  signOut(): void;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const s = useContext(AppContext);
  if (!s) throw new Error('useApp outside AppContext');
  return s;
}
