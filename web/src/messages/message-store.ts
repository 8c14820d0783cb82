import { channelOf, type AppSocket } from '../shell/socket-client';
import { MessageFeed } from './message-feed';

export type { Arrival, StoreChange } from './message-feed';

/** The page's {@link MessageFeed}, over its socket. */
export class MessageStore extends MessageFeed {
  constructor(socket: AppSocket) {
    super(channelOf(socket));
  }
}
