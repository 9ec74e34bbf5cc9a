// App-wide state: the coordinator's /info, the connected wallet account and the read session.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Info, SessionView } from './api.js';

/** A licence this tab bought, remembered until the coordinator's index of the chain lists it. */
export interface RecentPurchase {
  licenceId: string;
  datasetId: string;
  /** The buyer (the connected account when it was bought). */
  holder: string;
  /** When the purchase was mined, as Date.now() in this tab. */
  at: number;
}

export interface AppState {
  info: Info | null;
  /** The connected account (EIP-55), or null before "Connect wallet". */
  account: string | null;
  session: SessionView | null;
  connect(): Promise<void>;
  signIn(): Promise<void>;
  signOut(): void;
  /** Licences bought in this tab: a page listing the coordinator's index waits for them (the index trails the chain). */
  recentPurchases: readonly RecentPurchase[];
  notePurchase(purchase: RecentPurchase): void;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const s = useContext(AppContext);
  if (!s) throw new Error('useApp outside AppContext');
  return s;
}
